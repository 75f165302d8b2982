import KexbootCore

/// The `key=value` lines yaboot.conf and kboot.conf share: `#` comments, values optionally
/// in single or double quotes, bare words (`read-only`) as keys without a value.
struct KeyValueLine {
    var key: String
    var value: String?
    var location: SourceLocation

    /// The lines of a file, one at a time; a line longer than `ConfigLimits.maxValueLength`
    /// comes as `.tooLong`.
    struct Lines: Sequence, IteratorProtocol {
        enum Item {
            case line(KeyValueLine)
            case tooLong(SourceLocation)
        }

        private var raw: ByteLines
        private let file: String
        private var number = 0

        init(_ bytes: [UInt8], file: String) {
            raw = ByteLines(bytes)
            self.file = file
        }

        mutating func next() -> Item? {
            while let bytes = raw.next() {
                number += 1
                guard bytes.count <= ConfigLimits.maxValueLength else {
                    return .tooLong(SourceLocation(file: file, line: number, column: 1))
                }
                if let line = KeyValueLine(bytes, number: number, file: file) { return .line(line) }
            }
            return nil
        }
    }

    /// The diagnostic for a `.tooLong` line.
    static func tooLong(at location: SourceLocation) -> Diagnostic {
        Diagnostic(.error, "a line longer than \(ConfigLimits.describe(bytes: ConfigLimits.maxValueLength)); ignored", at: location)
    }

    /// One line; `nil` for a blank line or a comment.
    init?(_ raw: ArraySlice<UInt8>, number: Int, file: String) {
        let text = String(decoding: raw, as: UTF8.self).trimmingTrailingBlanks()
        let trimmed = Substring(text).drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        location = SourceLocation(file: file, line: number, column: text.count - trimmed.count + 1)
        guard let eq = trimmed.firstIndex(of: "=") else {
            key = String(trimmed).trimmingTrailingBlanks()
            value = nil
            return
        }
        key = String(trimmed[..<eq]).trimmingTrailingBlanks()
        var value = Substring(trimmed[trimmed.index(after: eq)...]).drop { $0 == " " || $0 == "\t" }
        if let q = value.first, q == "\"" || q == "'" {
            value = value.dropFirst()
            if let end = value.lastIndex(of: q) { value = value[..<end] }
        }
        self.value = String(value)
    }
}

extension String {
    /// Words separated by runs of blanks.
    var words: [String] { split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
}
