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
    /// The interfaces that are up, loopback excluded, each once.
    public static func up() -> [String] {
        var names: [String] = []
        eachInterface { name, flags, _ in
            if flags & UInt32(IFF_UP) != 0, !names.contains(name) { names.append(name) }
        }
        return names
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
        var out: [(String, String)] = []
        eachInterface { name, _, addr in
            guard let addr else { return }
            let family = Int32(addr.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { return }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let len = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(addr, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { return }
            out.append((name, String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return out
    }

    /// Calls `body` for each entry getifaddrs lists (an interface once per address),
    /// loopback excluded. The corresponding C function is `getifaddrs`.
    static func eachInterface(_ body: (_ name: String, _ flags: UInt32, _ address: UnsafeMutablePointer<sockaddr>?) -> Void) {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return }
        defer { freeifaddrs(list) }
        var p = list
        while let a = p {
            p = a.pointee.ifa_next
            guard a.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            let name = String(decoding: UnsafeBufferPointer(start: a.pointee.ifa_name, count: strlen(a.pointee.ifa_name)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            body(name, a.pointee.ifa_flags, a.pointee.ifa_addr)
        }
    }
}
