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

/// Copies everything from `input` to `output` (from their current offsets), retrying on
/// EINTR and short writes.
public func copyAll(from input: Int32, to output: Int32, count limit: UInt64 = .max, what: @autoclosure () -> String,
                    progress: ((_ copied: UInt64) throws -> Void)? = nil) throws {
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var copied: UInt64 = 0
    while copied < limit {
        let want = Int(min(UInt64(buffer.count), limit - copied))
        let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, want) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw KexbootError(.ioError, "reading \(what())", cause: Errno(errno)) }
        if n == 0 {
            guard limit == .max else { throw KexbootError(.ioError, "reading \(what()): it ends after \(copied) of \(limit) bytes") }
            return
        }
        var done = 0
        while done < n {
            let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + done, n - done) }
            if w < 0 && errno == EINTR { continue }
            guard w > 0 else { throw KexbootError(.ioError, "writing \(what())", cause: Errno(errno)) }
            done += w
        }
        copied += UInt64(n)
        try progress?(copied)
    }
}

/// Seconds on the monotonic clock (for deadlines; never goes back).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
