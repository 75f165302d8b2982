import KexbootCore

/// The `key=value` lines yaboot.conf and kboot.conf share: `#` comments, values optionally
/// in single or double quotes, bare words (`read-only`) as keys without a value.
struct KeyValueLine {
    var key: String
    var value: String?
    var location: SourceLocation

    static func parse(_ bytes: [UInt8], file: String) -> [KeyValueLine] {
        var lines: [KeyValueLine] = []
        var number = 0
        for raw in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
            number += 1
            let text = String(decoding: raw, as: UTF8.self).trimmingTrailingBlanks()
            let trimmed = Substring(text).drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let location = SourceLocation(file: file, line: number, column: text.count - trimmed.count + 1)
            guard let eq = trimmed.firstIndex(of: "=") else {
                lines.append(KeyValueLine(key: String(trimmed).trimmingTrailingBlanks(), value: nil, location: location))
                continue
            }
            let key = String(trimmed[..<eq]).trimmingTrailingBlanks()
            var value = Substring(trimmed[trimmed.index(after: eq)...]).drop { $0 == " " || $0 == "\t" }
            if let q = value.first, q == "\"" || q == "'" {
                value = value.dropFirst()
                if let end = value.lastIndex(of: q) { value = value[..<end] }
            }
            lines.append(KeyValueLine(key: key, value: String(value), location: location))
        }
        return lines
    }
}

extension String {
    /// Words separated by runs of blanks.
    var words: [String] { split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
}
