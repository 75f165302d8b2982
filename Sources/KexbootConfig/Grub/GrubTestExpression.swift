import KexbootCore

/// GRUB's `test` / `[`: string, numeric and file tests, `!`, `-a`, `-o` and parentheses.
/// Operands written next to each other without `-a` are and-ed, as GRUB does.
struct GrubTestExpression {
    let operands: [String]
    /// What a GRUB file name refers to, for `-e`, `-f`, `-d`, `-s`, `-nt`, `-ot`.
    let files: (String) -> FileInfo?
    private var index = 0

    init(operands: [String], files: @escaping (String) -> FileInfo?) {
        self.operands = operands
        self.files = files
    }

    func evaluate() -> Bool {
        var copy = self
        guard !operands.isEmpty else { return false }
        return copy.parseOr()
    }

    private var atEnd: Bool { index >= operands.count }
    private var peek: String? { atEnd ? nil : operands[index] }

    private mutating func take() -> String {
        let s = operands[index]
        index += 1
        return s
    }

    private mutating func parseOr() -> Bool {
        var value = parseAnd()
        while peek == "-o" {
            index += 1
            let rhs = parseAnd()
            value = value || rhs
        }
        return value
    }

    private mutating func parseAnd() -> Bool {
        var value = parseNot()
        while let p = peek, p != "-o", p != ")" {
            if p == "-a" { index += 1 }
            guard !atEnd else { break }
            let rhs = parseNot()
            value = value && rhs
        }
        return value
    }

    private mutating func parseNot() -> Bool {
        if peek == "!" && index + 1 < operands.count {
            index += 1
            return !parseNot()
        }
        return parsePrimary()
    }

    private static let binary: Set<String> = [
        "=", "==", "!=", "<", "<=", ">", ">=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge",
        "-pgt", "-plt", "-nt", "-ot",
    ]
    private static let unary: Set<String> = ["-n", "-z", "-e", "-f", "-d", "-s"]

    private mutating func parsePrimary() -> Bool {
        guard let first = peek else { return false }
        // A binary operator takes precedence: `[ -n = -n ]` compares two strings.
        if index + 2 < operands.count, Self.binary.contains(operands[index + 1]) {
            let lhs = take(), op = take(), rhs = take()
            return compare(lhs, op, rhs)
        }
        if first == "(" {
            index += 1
            let value = parseOr()
            if peek == ")" { index += 1 }
            return value
        }
        if Self.unary.contains(first), index + 1 < operands.count {
            index += 1
            let arg = take()
            switch first {
            case "-n": return !arg.isEmpty
            case "-z": return arg.isEmpty
            case "-e": return files(arg) != nil
            case "-f": return files(arg)?.kind == .file
            case "-d": return files(arg)?.kind == .directory
            case "-s": return (files(arg)?.size ?? 0) > 0
            default: return false
            }
        }
        index += 1
        return !first.isEmpty
    }

    private func compare(_ lhs: String, _ op: String, _ rhs: String) -> Bool {
        switch op {
        case "=", "==": return lhs == rhs
        case "!=": return lhs != rhs
        case "<": return lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
        case "<=": return !rhs.utf8.lexicographicallyPrecedes(lhs.utf8)
        case ">": return rhs.utf8.lexicographicallyPrecedes(lhs.utf8)
        case ">=": return !lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
        case "-eq": return Self.number(lhs) == Self.number(rhs)
        case "-ne": return Self.number(lhs) != Self.number(rhs)
        case "-lt": return Self.number(lhs) < Self.number(rhs)
        case "-le": return Self.number(lhs) <= Self.number(rhs)
        case "-gt": return Self.number(lhs) > Self.number(rhs)
        case "-ge": return Self.number(lhs) >= Self.number(rhs)
        case "-pgt", "-plt":
            let (a, b) = Self.afterCommonPrefix(lhs, rhs)
            return op == "-pgt" ? a > b : a < b
        case "-nt", "-ot":
            guard let a = files(lhs)?.mtime, let b = files(rhs)?.mtime else { return false }
            return op == "-nt" ? a > b : a < b
        default: return false
        }
    }

    /// GRUB's `strtol(s, 0, 0)`: optional sign, `0x` hex, leading `0` octal, stops at the
    /// first bad character; no digits is 0.
    static func number(_ s: String) -> Int64 {
        var bytes = Substring(s).utf8.drop { $0 == 0x20 || $0 == 0x09 }
        var negative = false
        if let f = bytes.first, f == 0x2d || f == 0x2b {
            negative = f == 0x2d
            bytes = bytes.dropFirst()
        }
        var base: Int64 = 10
        if bytes.starts(with: "0x".utf8) || bytes.starts(with: "0X".utf8) {
            base = 16
            bytes = bytes.dropFirst(2)
        } else if bytes.first == 0x30 && bytes.count > 1 {
            base = 8
        }
        var value: Int64 = 0
        for b in bytes {
            let digit: Int64
            switch b {
            case 0x30...0x39: digit = Int64(b - 0x30)
            case 0x61...0x66: digit = Int64(b - 0x61 + 10)
            case 0x41...0x46: digit = Int64(b - 0x41 + 10)
            default: digit = 99
            }
            guard digit < base else { break }
            let (m, o1) = value.multipliedReportingOverflow(by: base)
            let (a, o2) = m.addingReportingOverflow(digit)
            if o1 || o2 { return negative ? Int64.min : Int64.max }
            value = a
        }
        return negative ? -value : value
    }

    /// For `-pgt`/`-plt`: skips the common prefix, backing up over digits so a number is
    /// compared whole (`vmlinuz-6.10` vs `vmlinuz-6.9` compares 10 with 9).
    static func afterCommonPrefix(_ a: String, _ b: String) -> (Int64, Int64) {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0
        while i < x.count && i < y.count && x[i] == y[i] { i += 1 }
        while i > 0 && x[i - 1] >= 0x30 && x[i - 1] <= 0x39 { i -= 1 }
        return (number(String(decoding: x[i...], as: UTF8.self)), number(String(decoding: y[i...], as: UTF8.self)))
    }
}
