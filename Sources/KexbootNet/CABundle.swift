#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootOS

/// The certificates HTTPS is checked against.
public enum CABundle {
    /// Where Debian (and the initramfs) keep the system bundle.
    public static let system = "/etc/ssl/certs/ca-certificates.crt"

    /// Writes `system` followed by `extra` to `output` and returns `output`: libcurl takes
    /// one bundle, and a CA from the config adds to the system's rather than replacing it.
    /// A missing system bundle is fine (only `extra` is trusted then); a missing or
    /// certificate-less `extra` is an error, so a typo in the config cannot silently
    /// leave HTTPS trusting less (or nothing) than the user meant.
    public static func combine(system: String = system, extra: String, output: String) throws -> String {
        let extraBytes = try DirectoryFileSource(root: "/").read(extra, limit: 4 << 20)
        guard String(decoding: extraBytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            throw KexbootError(.invalidArgument, "\(extra): no PEM certificate in it")
        }
        let systemBytes = (try? DirectoryFileSource(root: "/").read(system, limit: 16 << 20)) ?? []
        var all = systemBytes
        if let last = all.last, last != 0x0a { all.append(0x0a) }
        all += extraBytes
        let temporary = output + ".new.\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KexbootError(.ioError, "creating \(temporary)", cause: Errno(errno)) }
        let written = all.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == all.count, rename(temporary, output) == 0 else {
            let e = errno
            unlink(temporary)
            throw KexbootError(.ioError, "writing \(output)", cause: Errno(e))
        }
        return output
    }
}
