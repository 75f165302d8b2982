import KexbootCore

/// One iPXE script cut into commands, the way iPXE reads it (https://ipxe.org/scripting):
///
/// - a line ending in a backslash continues on the next line (even a comment line);
/// - words are separated by white space; there is no quoting, so runs of spaces fold;
/// - a word starting with `#` ends the line (a comment);
/// - `&&`, `||` and `;` words separate commands on one line;
/// - a line starting with `:` is a label, the target of `goto`.
///
/// Settings (`${…}`) are not expanded here: iPXE expands each word just before its command
/// runs, so `choose x && goto ${x}` sees the value `choose` stored.
final class IPXEScript: Sendable {
    struct Word: Sendable {
        let text: String
        /// 1-based byte column within the (joined) line.
        let column: Int
    }

    /// How a command is joined to the one before it on the same line.
    enum Joiner: Sendable {
        /// The first command of a line, or after `;`: always runs.
        case always
        /// After `&&`: runs when the previous command succeeded.
        case and
        /// After `||`: runs when the previous command failed.
        case or
    }

    struct Command: Sendable {
        let joiner: Joiner
        /// Empty for the empty command of `cmd ||`, which succeeds.
        let words: [Word]
    }

    struct Line: Sendable {
        /// The line number of the first physical line (continuations are joined to it).
        let number: Int
        /// `:name` lines.
        let label: String?
        let commands: [Command]
    }

    /// The file, absolute within the filesystem (for diagnostics).
    let path: String
    /// Where the script's relative names resolve (its own directory, or a prefix).
    let base: ResourceBase
    let lines: [Line]
    /// Label name → index into `lines` of its first definition (goto scans from the top).
    let labels: [String: Int]
    /// Whether the first line is the `#!ipxe` (or legacy `#!gpxe`) magic.
    let hasMagic: Bool

    init(path: String, base: ResourceBase, bytes: [UInt8]) {
        self.path = path
        self.base = base
        hasMagic = Self.hasMagic(bytes)
        var lines: [Line] = []
        var pending: [UInt8] = []
        var pendingStart: Int?
        var number = 0
        var start = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0a) ?? bytes.count
            number += 1
            var physical = bytes[start..<end]
            if physical.last == 0x0d { physical = physical.dropLast() }
            if pendingStart == nil { pendingStart = number }
            if physical.last == UInt8(ascii: "\\") {
                pending += physical.dropLast()
            } else {
                pending += physical
                lines.append(Self.lex(pending, number: pendingStart!))
                pending.removeAll(keepingCapacity: true)
                pendingStart = nil
            }
            start = end + 1
        }
        if let first = pendingStart, !pending.isEmpty { lines.append(Self.lex(pending, number: first)) }
        var labels: [String: Int] = [:]
        for (i, line) in lines.enumerated() {
            if let label = line.label, labels[label] == nil { labels[label] = i }
        }
        self.lines = lines
        self.labels = labels
    }

    static func hasMagic(_ bytes: [UInt8]) -> Bool {
        let head = String(decoding: bytes.prefix(6), as: UTF8.self).lowercased()
        return head == "#!ipxe" || head == "#!gpxe"
    }

    private static func isBlank(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0b || c == 0x0c
    }

    /// One logical line into words and commands.
    static func lex(_ bytes: [UInt8], number: Int) -> Line {
        var words: [Word] = []
        var i = 0
        while i < bytes.count {
            while i < bytes.count && isBlank(bytes[i]) { i += 1 }
            guard i < bytes.count else { break }
            if bytes[i] == UInt8(ascii: "#") { break }
            let start = i
            while i < bytes.count && !isBlank(bytes[i]) { i += 1 }
            words.append(Word(text: String(decoding: bytes[start..<i], as: UTF8.self), column: start + 1))
        }
        if let first = words.first, first.text.hasPrefix(":") {
            return Line(number: number, label: String(first.text.dropFirst()), commands: [])
        }
        var commands: [Command] = []
        var joiner = Joiner.always
        var current: [Word] = []
        for word in words {
            switch word.text {
            case "&&", "||", ";":
                commands.append(Command(joiner: joiner, words: current))
                current = []
                joiner = word.text == "&&" ? .and : word.text == "||" ? .or : .always
            default:
                current.append(word)
            }
        }
        if !current.isEmpty || !commands.isEmpty { commands.append(Command(joiner: joiner, words: current)) }
        return Line(number: number, label: nil, commands: commands)
    }
}
