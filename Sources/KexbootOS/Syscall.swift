#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore

/// errno as text.
func errnoString(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// Runs a call that returns -1 with errno on failure, retrying on EINTR.
@discardableResult
func retryingEINTR(_ what: @autoclosure () -> String, _ call: () -> Int32) throws -> Int32 {
    while true {
        let r = call()
        if r >= 0 { return r }
        if errno == EINTR { continue }
        let code = errno
        throw KexbootError(.ioError, what(), cause: Errno(code))
    }
}

/// An errno value kept as the cause of a `KexbootError`.
public struct Errno: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }
    public var description: String { errnoString(code) }
}
