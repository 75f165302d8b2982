/// Splits a byte stream into protocol lines (`\n`-terminated, an optional `\r` before it
/// dropped). Bytes may arrive in any pieces: one at a time or many lines at once.
///
/// A line longer than `maxLine` is an error the connection cannot recover from (the rest of
/// it would be read as new lines), so the framer reports it once and stops.
public struct LineFramer: Sendable {
    public enum Output: Equatable, Sendable {
        case line([UInt8])
        case oversized
    }

    public let maxLine: Int
    private var buffer: [UInt8] = []
    /// Where in `buffer` the search for the next newline resumes.
    private var scanned = 0
    public private(set) var failed = false

    public init(maxLine: Int = ProtocolV1.maxLine) {
        self.maxLine = maxLine
    }

    /// Bytes kept for a line not yet complete.
    public var pending: Int { buffer.count }

    public mutating func feed<C: Collection>(_ bytes: C) -> [Output] where C.Element == UInt8 {
        guard !failed else { return [] }
        buffer.append(contentsOf: bytes)
        var out: [Output] = []
        var start = 0
        var i = scanned
        while i < buffer.count {
            if buffer[i] == 0x0a {
                var end = i
                if end > start, buffer[end - 1] == 0x0d { end -= 1 }
                if end - start > maxLine {
                    failed = true
                    buffer = []
                    scanned = 0
                    out.append(.oversized)
                    return out
                }
                out.append(.line(Array(buffer[start..<end])))
                start = i + 1
            }
            i += 1
        }
        if start > 0 { buffer.removeFirst(start) }
        scanned = buffer.count
        if buffer.count > maxLine + 1 {
            failed = true
            buffer = []
            scanned = 0
            out.append(.oversized)
        }
        return out
    }
}
