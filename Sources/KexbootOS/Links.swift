#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CKexboot
import KexbootCore

/// Network interfaces, as far as booting needs them: before kexec every link kexboot (or
/// DHCP) brought up goes down, so the next kernel finds quiet hardware (a NIC still doing
/// DMA into memory the new kernel now owns corrupts it).
public enum Links {
    /// The interfaces that are up, loopback excluded. The corresponding C function is
    /// `getifaddrs`.
    public static func up() -> [String] {
        var buffer = [CChar](repeating: 0, count: 8192)
        let n = kx_links_up(&buffer, UInt(buffer.count))
        guard n > 0 else { return [] }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Takes an interface down. The corresponding C call is `ioctl(SIOCSIFFLAGS)`.
    public static func down(_ name: String) throws {
        guard kx_link_down(name) == 0 else {
            throw KexbootError(.ioError, "taking \(name) down", cause: Errno(errno))
        }
    }

    /// Takes every interface but loopback down; returns the ones that would not go.
    @discardableResult
    public static func downAll() -> [String] {
        up().filter { (try? down($0)) == nil }
    }
}

/// Checks passwords against crypt(3) hashes (`$6$…`, `$y$…`), as /etc/shadow stores them.
public enum PasswordHash {
    /// `nil` when `hash` is not a form libcrypt knows.
    public static func matches(_ password: String, hash: String) -> Bool? {
        switch kx_crypt_matches(password, hash) {
        case 1: true
        case 0: false
        default: nil
        }
    }
}

/// Who is on the other end of a Unix socket.
public struct PeerCredentials: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32

    /// The corresponding C call is `getsockopt(SO_PEERCRED)`.
    public init(socket fd: Int32) throws {
        var uid: UInt32 = 0, gid: UInt32 = 0, pid: Int32 = 0
        guard kx_peer_credentials(fd, &uid, &gid, &pid) == 0 else {
            throw KexbootError(.ioError, "reading the peer's credentials", cause: Errno(errno))
        }
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }
}

extension Links {
    /// Every interface's addresses (IPv4 and IPv6), loopback excluded, as text.
    public static func addresses() -> [(String, String)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: [(String, String)] = []
        var p = list
        while let a = p {
            defer { p = a.pointee.ifa_next }
            guard let addr = a.pointee.ifa_addr, a.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            let family = Int32(addr.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let len = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(addr, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let name = String(decoding: UnsafeBufferPointer(start: a.pointee.ifa_name, count: strlen(a.pointee.ifa_name)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            out.append((name, String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return out
    }
}
