/// The error kexboot's modules throw: a code to branch on, a message for people, and
/// optionally what caused it.
public struct KexbootError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound
        case invalidArgument
        case ioError
        case unsupported
        case parseError
        case limitExceeded
        /// A server that could not be reached at all (refused, no route, no name, silent).
        case unreachable
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message): \(cause)" }
        return message
    }
}
