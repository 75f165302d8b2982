#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
internal import CKexboot

/// SIGTERM, SIGINT and SIGHUP as a file descriptor to poll, for a single-threaded program
/// that must finish what it is doing (a DHCP Release) before it exits.
public final class TerminationSignals {
    public let fd: Int32

    /// Blocks the signals in the calling thread (call it before any other thread starts).
    /// The corresponding C function is `signalfd`.
    public init() throws {
        fd = kx_termination_signalfd()
        guard fd >= 0 else { throw KexbootError(.ioError, "signalfd", cause: Errno(errno)) }
    }

    deinit { close(fd) }

    /// Reads the pending signals; true when there was one.
    public func consume() -> Bool {
        var info = [UInt8](repeating: 0, count: 128) // struct signalfd_siginfo
        var any = false
        while read(fd, &info, info.count) == info.count { any = true }
        return any
    }
}
