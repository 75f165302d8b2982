import KexbootCore

/// The bytes of one config file, shared by everything parsed out of it (menuentry bodies
/// keep a range into it instead of a copy).
public final class SourceFile: Sendable {
    /// The path shown in diagnostics (absolute within the filesystem, or `<eval>`).
    public let path: String
    public let bytes: [UInt8]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    public convenience init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// A 1-based line/column location for a byte offset, given where counting started.
    func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: path, line: line, column: column)
    }
}

/// A slice of a source file with the line and column its first byte is at: a whole file,
/// or the body of a `{ … }` block kept for later.
struct SourceRange {
    let file: SourceFile
    let start: Int
    let end: Int
    let line: Int
    let column: Int

    init(file: SourceFile) {
        self.init(file: file, start: 0, end: file.bytes.count, line: 1, column: 1)
    }

    init(file: SourceFile, start: Int, end: Int, line: Int, column: Int) {
        self.file = file
        self.start = start
        self.end = end
        self.line = line
        self.column = column
    }
}
