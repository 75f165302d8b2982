import KexbootCore

/// Collects diagnostics in order, drops exact repeats (a function body shared by a
/// thousand entries reports its problem once) and stops at a cap so garbage input cannot
/// produce megabytes of output.
struct DiagnosticSink {
    static let cap = 1000
    private(set) var items: [Diagnostic] = []
    private var seen: Set<Diagnostic> = []
    private var overflowed = false

    mutating func add(_ diagnostic: Diagnostic) {
        guard !overflowed else { return }
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
