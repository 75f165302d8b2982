import KexbootCore

/// Collects diagnostics in order, drops exact repeats (a function body shared by a
/// thousand entries reports its problem once) and stops at a cap so garbage input cannot
/// produce megabytes of output: `cap` diagnostics, each cut at `maxMessageLength` bytes (a
/// message quotes the config, and a quoted word may be megabytes long).
struct DiagnosticSink {
    static let cap = 1000
    static let maxMessageLength = 4096
    private(set) var items: [Diagnostic] = []
    private var seen: Set<Diagnostic> = []
    private var overflowed = false

    mutating func add(_ diagnostic: Diagnostic) {
        guard !overflowed else { return }
        var diagnostic = diagnostic
        let utf8 = diagnostic.message.utf8
        if utf8.count > Self.maxMessageLength {
            // Cut at the start of a character's bytes, not in the middle of them.
            var end = utf8.index(utf8.startIndex, offsetBy: Self.maxMessageLength)
            while end > utf8.startIndex && utf8[end] & 0xc0 == 0x80 { end = utf8.index(before: end) }
            diagnostic.message = String(decoding: utf8[..<end], as: UTF8.self) + "…"
        }
        guard seen.insert(diagnostic).inserted else { return }
        if items.count >= Self.cap {
            overflowed = true
            items.append(Diagnostic(.error, "too many problems; the rest are not reported", file: diagnostic.file))
            return
        }
        items.append(diagnostic)
    }

    mutating func add(_ severity: Diagnostic.Severity, _ message: String, at location: SourceLocation?) {
        add(Diagnostic(severity, message, at: location))
    }
}
