import KexbootCore

/// What a file name handed to `test` refers to, as the interpreter can see it.
enum GrubFileLookup: Equatable {
    /// The name is on a filesystem kexboot reads and something is there.
    case found(FileInfo)
    /// The name is on a filesystem kexboot reads and nothing is there.
    case missing
    /// The name is on a device kexboot cannot look into (another disk, the network).
    case unknown
}

/// GRUB's `test` / `[` command, rule for rule as grub-core/commands/test.c (GRUB 2.06 to
/// 2.12, with the recursion limit of the 2025 security fixes) evaluates it. Rules:
///
/// **Command.** `test` and `[` are the same command: when the last word is `]` it is
/// dropped (so `test a ]` is `test a`) and a `[` without `]` is evaluated as written
/// (`[ a = a` is true). No words at all is true (`[ ]`, `test`).
///
/// **Evaluation** is one left-to-right pass, not a precedence grammar. At each word, in
/// this order: if two more words follow and the next is a binary operator, the three words
/// are one test (so `[ ! = ! ]` and `[ -n = -n ]` compare strings, `[ ( = ( ]` too); else
/// if one more word follows and this one is `-d -e -f -s -n -z`, the two words are one
/// test; else `)` ends the current parenthesis (at the top level it ends the whole
/// expression: words after it are ignored), `(` opens one (a missing `)` closes at the
/// end), `!` flips the negation of the next test (`! !` cancels; a trailing `!` does
/// nothing), `-a` is skipped, `-o` closes the and-chain; any other word is a string test,
/// true when non-empty. Tests in a row are and-ed (`-a` is optional); `-o` ors the chains
/// (a trailing `-o` starts an empty chain, which is true: `[ "" -o ]` is true). A negation
/// still pending when `-a`/`-o` is read applies to the next test. More than 100 nested
/// `(` stops the expression there (GRUB's limit; the error it raises counts as below).
///
/// **Strings.** `=`/`==`, `!=`, `<`, `<=`, `>`, `>=` compare bytes (no Unicode
/// equivalence: `é` precomposed and decomposed differ); empty operands are ordinary strings
/// (`[ "" = "" ]` true, `[ "" "<" a ]` true). `-n S` is S non-empty, `-z S` is S empty;
/// `[ -n ]` and `[ -z ]` are string tests of the word `-n`/`-z`: both true.
///
/// **Integers.** `-eq -ne -lt -le -gt -ge` read each side as GRUB's `strtosl`: a leading
/// `-` negates the rest; otherwise spaces/tabs/newlines are skipped, `0x` (lower-case x)
/// is hex, `0` followed by 0-7 is octal, else decimal; reading stops at the first
/// character that is not a digit of the base (`12abc` is 12, `08` is 8, `0X10` is 0,
/// `+5` and ` -5` are 0). No digits (`""`, `abc`, `0x`, `-`) is 0 and raises an error;
/// a value past 2^64-1 is 2^64-1 and raises an error. The result is truncated to GRUB's
/// 32-bit `int` (`4294967296 -eq 0` is true), as on 64-bit GRUB (x86_64/arm64 EFI).
/// `-pgt`/`-plt` skip the common prefix of the two words, back up over the digits before
/// it but never to the first character (GRUB's loop stops at index 1: `29 -pgt 200`
/// compares 9 with 00 and is true), and compare the rest as unsigned numbers.
///
/// **Files.** `-e` exists, `-f` exists and is not a directory (a symlink counts as a
/// file), `-d` is a directory. The name is split as GRUB's `get_fileinfo` does: a name
/// starting with `(` without `)` is an error (false); the path is what follows the first
/// `)` anywhere in the name (else the whole name); trailing `/` are dropped; an empty path
/// (`""`, `/`, `(hd0,1)`, `(hd0,1)/`) is the device itself, a directory: `-e ""` and
/// `-d ""` are true, `-f ""` false. A path without `/` is looked up in the root directory
/// (`-e boot` is `-e /boot`); a relative path with a `/` (`boot/x`) is an error. A
/// missing parent directory (or a parent that is a file) is an error; a missing last
/// component is not.
/// `-s` opens the file as GRUB's `grub_file_open` does: true only for a file of non-zero
/// size; `-s ""`, `-s` of a missing file, of a directory, of `(hd0,1)` or of a device name
/// without `)` are false. A path not starting with `/` is a block list (`0+1`, `+4`):
/// true when it is one, with non-zero lengths (its end against the disk's size is not
/// checked), else false (so `-s boot/x` and `-s vmlinuz` are false).
/// `A -ntN B` / `A -otN B` (N an optional bias added to A's time): `-nt` is true when A
/// exists and B does not, or both times are known and A+N > B; `-ot` when A does not exist
/// and B does, or both are known and A+N < B. When B is missing its time is A's (GRUB
/// reuses the last file's details). A device's own time is not known to kexboot.
///
/// **Errors carry over within one command.** An error raised by a number that does not
/// parse, a name with `(` and no `)`, a missing parent directory or the depth limit stays
/// pending, and while one is pending every later file test in the same command is false
/// (GRUB cannot open a disk while an error is pending). `-s` clears it after its own test.
/// Names on devices kexboot cannot look into are false and raise no error.
struct GrubTestExpression {
    let operands: [String]
    let lookup: (String) -> GrubFileLookup

    /// GRUB's limit on nested parentheses.
    static let maxDepth = 100

    init(operands: [String], lookup: @escaping (String) -> GrubFileLookup) {
        self.operands = operands
        self.lookup = lookup
    }

    /// With `files` answering for every name (`nil` = missing).
    init(operands: [String], files: @escaping (String) -> FileInfo?) {
        self.init(operands: operands, lookup: { files($0).map(GrubFileLookup.found) ?? .missing })
    }

    /// The whole command: drops a final `]`.
    static func command(_ words: [String], lookup: @escaping (String) -> GrubFileLookup) -> Bool {
        var operands = words
        if operands.last == "]" { operands.removeLast() }
        return GrubTestExpression(operands: operands, lookup: lookup).evaluate()
    }

    func evaluate() -> Bool {
        var state = State()
        return parse(&state)
    }

    private struct State {
        var index = 0
        var depth = 0
        var errorPending = false
    }

    /// One parenthesis level of GRUB's `test_parse`.
    private struct Level {
        var and = true
        var or = false
        var invert = false
        /// The details of the last file found at this level (GRUB's `ctx.file_info`).
        var lastMtime: Int?

        mutating func update(_ value: Bool) {
            and = and && (invert ? !value : value)
            invert = false
        }

        var value: Bool { or || and }
    }

    private static let stringOps: Set<String> = ["=", "==", "!=", "<", "<=", ">", ">="]
    private static let numberOps: Set<String> = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"]

    private func parse(_ s: inout State) -> Bool {
        var level = Level()
        let n = operands.count
        while s.index < n {
            let word = operands[s.index]
            if s.index + 2 < n {
                let op = operands[s.index + 1], rhs = operands[s.index + 2]
                if Self.stringOps.contains(op) {
                    level.update(Self.compareStrings(word, op, rhs))
                    s.index += 3
                    continue
                }
                if Self.numberOps.contains(op) {
                    let a = Self.signedNumber(word), b = Self.signedNumber(rhs)
                    if a.error || b.error { s.errorPending = true }
                    level.update(Self.compareNumbers(a.value, op, b.value))
                    s.index += 3
                    continue
                }
                if op == "-pgt" || op == "-plt" {
                    let (a, b) = Self.afterCommonPrefix(word, rhs)
                    if a.error || b.error { s.errorPending = true }
                    level.update(op == "-pgt" ? a.value > b.value : a.value < b.value)
                    s.index += 3
                    continue
                }
                if op.hasPrefix("-nt") || op.hasPrefix("-ot") {
                    let first = fileDetails(word, &s, &level)
                    let firstMtime = level.lastMtime
                    let second = fileDetails(rhs, &s, &level)
                    var bias: Int64 = 0
                    if op.utf8.count > 3 {
                        let b = Self.signedNumber(String(op.dropFirst(3)))
                        if b.error { s.errorPending = true }
                        bias = Int64(b.value)
                    }
                    var timed = false
                    if let m1 = firstMtime, let m2 = level.lastMtime {
                        let shifted = Int64(m1) &+ bias
                        timed = op.hasPrefix("-nt") ? shifted > Int64(m2) : shifted < Int64(m2)
                    }
                    if op.hasPrefix("-nt") {
                        level.update((first.exists && !second.exists) || timed)
                    } else {
                        level.update((!first.exists && second.exists) || timed)
                    }
                    s.index += 3
                    continue
                }
            }
            if s.index + 1 < n {
                let arg = operands[s.index + 1]
                switch word {
                case "-d", "-e", "-f":
                    let d = fileDetails(arg, &s, &level)
                    switch word {
                    case "-d": level.update(d.exists && d.directory)
                    case "-e": level.update(d.exists)
                    default: level.update(d.exists && !d.directory)
                    }
                    s.index += 2
                    continue
                case "-s":
                    level.update(sizeTest(arg, errorPending: s.errorPending))
                    s.errorPending = false
                    s.index += 2
                    continue
                case "-n":
                    level.update(!arg.isEmpty)
                    s.index += 2
                    continue
                case "-z":
                    level.update(arg.isEmpty)
                    s.index += 2
                    continue
                default:
                    break
                }
            }
            switch word {
            case ")":
                s.index += 1
                if s.depth > 0 { s.depth -= 1 }
                return level.value
            case "(":
                s.index += 1
                s.depth += 1
                if s.depth > Self.maxDepth {
                    s.errorPending = true
                    return level.value
                }
                level.update(parse(&s))
            case "!":
                level.invert.toggle()
                s.index += 1
            case "-a":
                s.index += 1
            case "-o":
                level.or = level.or || level.and
                level.and = true
                s.index += 1
            default:
                level.update(!word.isEmpty)
                s.index += 1
            }
        }
        return level.value
    }

    // MARK: Files

    private struct Details {
        var exists = false
        var directory = false
    }

    /// GRUB's `get_fileinfo`: what `-d`, `-e`, `-f`, `-nt` and `-ot` see.
    private func fileDetails(_ name: String, _ s: inout State, _ level: inout Level) -> Details {
        let bytes = Array(name.utf8)
        var device = ""
        if bytes.first == UInt8(ascii: "(") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: ")")) else {
                s.errorPending = true  // "missing `)' symbol"
                return Details()
            }
            device = String(decoding: bytes[...close], as: UTF8.self)
        }
        guard !s.errorPending else { return Details() }
        // The path is what follows the first `)`, wherever it is.
        var path = bytes[...]
        if let close = bytes.firstIndex(of: UInt8(ascii: ")")) { path = bytes[(close + 1)...] }
        while path.last == UInt8(ascii: "/") { path = path.dropLast() }
        if path.isEmpty {
            // The device itself: a directory, when kexboot can see the device at all.
            if lookup(device + "/") == .unknown { return Details() }
            level.lastMtime = nil
            return Details(exists: true, directory: true)
        }
        var directory = "/"
        var file = path
        if let slash = path.lastIndex(of: UInt8(ascii: "/")) {
            directory = String(decoding: path[...slash], as: UTF8.self)
            file = path[(slash + 1)...]
            guard directory.hasPrefix("/") else {
                s.errorPending = true  // "invalid file name"
                return Details()
            }
        }
        if directory != "/" {
            switch lookup(device + directory) {
            case .found(let info) where info.kind == .directory:
                break
            case .unknown:
                return Details()
            default:
                s.errorPending = true  // "file not found" / "not a directory"
                return Details()
            }
        }
        guard case .found(let info) = lookup(device + directory + String(decoding: file, as: UTF8.self)) else {
            return Details()
        }
        level.lastMtime = info.mtime
        return Details(exists: true, directory: info.kind == .directory)
    }

    /// GRUB's `-s`: `grub_file_open` and a size that is not 0.
    private func sizeTest(_ name: String, errorPending: Bool) -> Bool {
        guard !errorPending else { return false }
        let bytes = Array(name.utf8)
        var path = bytes[...]
        if bytes.first == UInt8(ascii: "(") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: ")")) else { return false }
            path = bytes[(close + 1)...]
        }
        guard path.first == UInt8(ascii: "/") else {
            return Self.isBlockList(path)
        }
        guard case .found(let info) = lookup(name) else { return false }
        return info.kind != .directory && info.size > 0
    }

    /// GRUB's block-list file names: `[OFFSET]+LENGTH` pieces joined by commas, each length
    /// non-zero; the last piece may be followed by white space.
    static func isBlockList<C: Collection>(_ text: C) -> Bool where C.Element == UInt8 {
        let pieces = text.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        for (n, piece) in pieces.enumerated() {
            var rest = piece[...]
            if rest.first != UInt8(ascii: "+") {
                let offset = unsignedNumber(rest)
                guard !offset.error, rest.dropFirst(offset.used).first == UInt8(ascii: "+") else { return false }
                rest = rest.dropFirst(offset.used)
            }
            rest = rest.dropFirst()
            let length = unsignedNumber(rest)
            guard !length.error, length.value != 0 else { return false }
            rest = rest.dropFirst(length.used)
            if let next = rest.first {
                guard n == pieces.count - 1, isSpace(next) else { return false }
            }
        }
        return true
    }

    // MARK: Strings and numbers

    static func compareStrings(_ lhs: String, _ op: String, _ rhs: String) -> Bool {
        let a = lhs.utf8, b = rhs.utf8
        switch op {
        case "=", "==": return a.elementsEqual(b)
        case "!=": return !a.elementsEqual(b)
        case "<": return a.lexicographicallyPrecedes(b)
        case "<=": return !b.lexicographicallyPrecedes(a)
        case ">": return b.lexicographicallyPrecedes(a)
        default: return !a.lexicographicallyPrecedes(b)
        }
    }

    private static func compareNumbers(_ a: Int32, _ op: String, _ b: Int32) -> Bool {
        switch op {
        case "-eq": return a == b
        case "-ne": return a != b
        case "-lt": return a < b
        case "-le": return a <= b
        case "-gt": return a > b
        default: return a >= b
        }
    }

    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d
    }

    /// GRUB's `strtoull(s, &end, 0)`: the value, how many bytes it read, and whether GRUB
    /// raises an error (no digits, or overflow, which gives 2^64-1).
    static func unsignedNumber<C: Collection>(_ text: C) -> (value: UInt64, used: Int, error: Bool) where C.Element == UInt8 {
        let s = Array(text)
        var i = 0
        while i < s.count, isSpace(s[i]) { i += 1 }
        var base: UInt64 = 10
        if i < s.count, s[i] == UInt8(ascii: "0"), i + 1 < s.count {
            if s[i + 1] == UInt8(ascii: "x") {
                base = 16
                i += 2
            } else if s[i + 1] >= UInt8(ascii: "0") && s[i + 1] <= UInt8(ascii: "7") {
                base = 8
            }
        }
        var value: UInt64 = 0
        var found = false
        while i < s.count {
            let c = s[i] | 0x20  // lower case for letters
            let digit: UInt64
            switch s[i] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(s[i] - UInt8(ascii: "0"))
            case _ where c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"): digit = UInt64(c - UInt8(ascii: "a")) + 10
            default: digit = 99
            }
            guard digit < base else { break }
            found = true
            let (m, o1) = value.multipliedReportingOverflow(by: base)
            let (sum, o2) = m.addingReportingOverflow(digit)
            if o1 || o2 { return (UInt64.max, i, true) }
            value = sum
            i += 1
        }
        return found ? (value, i, false) : (0, i, true)
    }

    /// GRUB's `grub_strtosl` as `test` uses it: `-` negates the rest, and the unsigned long
    /// result is stored in a 32-bit `int`.
    static func signedNumber(_ s: String) -> (value: Int32, error: Bool) {
        let bytes = Array(s.utf8)
        if bytes.first == UInt8(ascii: "-") {
            let r = unsignedNumber(bytes.dropFirst())
            return (Int32(truncatingIfNeeded: 0 &- r.value), r.error)
        }
        let r = unsignedNumber(bytes)
        return (Int32(truncatingIfNeeded: r.value), r.error)
    }

    /// Kept for callers that want just the value.
    static func number(_ s: String) -> Int32 { signedNumber(s).value }

    /// For `-pgt`/`-plt`: the numbers after the common prefix, backing up over the digits
    /// before it but, as GRUB's loop does, never to index 0.
    static func afterCommonPrefix(_ a: String, _ b: String) -> ((value: UInt64, error: Bool), (value: UInt64, error: Bool)) {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0
        while i < x.count && i < y.count && x[i] == y[i] { i += 1 }
        if i > 0 {
            i -= 1
            while i > 0 && x[i] >= 0x30 && x[i] <= 0x39 { i -= 1 }
            i += 1
        }
        let p = unsignedNumber(x[i...]), q = unsignedNumber(y[i...])
        return ((p.value, p.error), (q.value, q.error))
    }
}
