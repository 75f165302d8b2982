/// A problem found while reading a configuration or probing a device.
///
/// Diagnostics are collected, never thrown: one bad line must not cost the rest of a file.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Comparable {
        case info, warning, error

        private var rank: Int {
            switch self {
            case .info: 0
            case .warning: 1
            case .error: 2
            }
        }

        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var severity: Severity
    public var message: String
    /// Where the problem is; `nil` when it concerns no particular line (a missing file, say).
    public var location: SourceLocation?
    /// Set instead of `location` for problems about a whole file.
    public var file: String?

    public init(_ severity: Severity, _ message: String, at location: SourceLocation? = nil, file: String? = nil) {
        self.severity = severity
        self.message = message
        self.location = location
        self.file = file ?? location?.file
    }

    /// `file:line:col: severity: message`, the form compilers use.
    public var description: String {
        if let location {
            return "\(location): \(severity.rawValue): \(message)"
        }
        if let file {
            return "\(file): \(severity.rawValue): \(message)"
        }
        return "\(severity.rawValue): \(message)"
    }
}
