/// The lines of a file as slices without their `\n`, one at a time, as
/// `split(separator: 0x0a, omittingEmptySubsequences: false)` gives them: a file of a
/// million lines is not first cut into an array of a million slices.
struct ByteLines: Sequence, IteratorProtocol {
    private let bytes: [UInt8]
    private var start = 0
    private var done = false

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func next() -> ArraySlice<UInt8>? {
        guard !done else { return nil }
        if let newline = bytes[start...].firstIndex(of: 0x0a) {
            defer { start = newline + 1 }
            return bytes[start..<newline]
        }
        done = true
        return bytes[start...]
    }
}
