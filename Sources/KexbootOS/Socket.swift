#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore

/// Stream sockets for the protocol: a Unix socket at a path, or TCP. Descriptors are
/// non-blocking and close-on-exec unless a caller asks for blocking ones (clients).
public enum Socket {
    public enum Address: Sendable, Equatable, CustomStringConvertible {
        case unix(String)
        case tcp(host: String, port: UInt16)

        /// `HOST:PORT` (`[v6]:PORT` for IPv6) or a path.
        public static func parse(_ text: String) -> Address? {
            if text.hasPrefix("/") || text.hasPrefix(".") { return .unix(text) }
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return .tcp(host: host.isEmpty ? "0.0.0.0" : host, port: port)
        }

        /// `HOST:PORT` only (no paths).
        public static func parseTCP(_ text: String) -> Address? {
            guard !text.hasPrefix("/"), !text.hasPrefix("."), let a = parse(text), case .tcp = a else { return nil }
            return a
        }

        public var description: String {
            switch self {
            case .unix(let path): path
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    /// Listens on `address`. A Unix socket path left behind by a daemon that died is
    /// replaced; a live one (something accepts on it) is an error. The corresponding C
    /// calls are `socket`, `bind` and `listen`.
    public static func listen(_ address: Address, mode: mode_t = 0o600, group: gid_t? = nil) throws -> Int32 {
        switch address {
        case .unix(let path):
            if (try? connect(address, blocking: true)).map({ close($0) }) != nil {
                throw KexbootError(.invalidArgument, "\(path): another daemon is listening there")
            }
            unlink(path)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw KexbootError(.ioError, "socket", cause: Errno(errno)) }
            // Create it with no permissions for anyone, then open it up as asked: no window
            // in which another user could connect.
            try bindUnix(fd, path, umask: 0o777)
            if let group, chown(path, 0, group) != 0 {
                let e = errno
                close(fd)
                throw KexbootError(.ioError, "giving \(path) to group \(group)", cause: Errno(e))
            }
            chmod(path, mode)
            guard Glibc.listen(fd, 128) == 0 else {
                let e = errno
                close(fd)
                throw KexbootError(.ioError, "listening on \(path)", cause: Errno(e))
            }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let info = list else {
                throw KexbootError(.invalidArgument, "\(address): not a numeric address")
            }
            defer { freeaddrinfo(list) }
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw KexbootError(.ioError, "socket", cause: Errno(errno)) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, Glibc.listen(fd, 128) == 0 else {
                let e = errno
                close(fd)
                throw KexbootError(.ioError, "listening on \(address)", cause: Errno(e))
            }
            return fd
        }
    }

    /// The numeric address of a TCP socket's peer.
    public static func peerHost(_ fd: Int32) -> String? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let ok = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard ok == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The port a TCP listener got (for `:0`).
    public static func localPort(_ fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        return withUnsafePointer(to: &storage) { p -> UInt16? in
            switch Int32(p.pointee.ss_family) {
            case AF_INET: p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            case AF_INET6: p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            default: nil
            }
        }
    }

    /// Connects to `address`. The corresponding C call is `connect`.
    public static func connect(_ address: Address, blocking: Bool = true) throws -> Int32 {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue))
        switch address {
        case .unix(let path):
            let fd = socket(AF_UNIX, flags, 0)
            guard fd >= 0 else { throw KexbootError(.ioError, "socket", cause: Errno(errno)) }
            var addr = try unixAddress(path)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else {
                let e = errno
                close(fd)
                throw KexbootError(.ioError, "connecting to \(path)", cause: Errno(e))
            }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0 else {
                throw KexbootError(.notFound, "\(host): no such host")
            }
            defer { freeaddrinfo(list) }
            var lastError: Int32 = ECONNREFUSED
            var p = list
            while let info = p {
                let fd = socket(info.pointee.ai_family, flags, 0)
                if fd >= 0 {
                    if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                    lastError = errno
                    close(fd)
                }
                p = info.pointee.ai_next
            }
            throw KexbootError(.ioError, "connecting to \(address)", cause: Errno(lastError))
        }
    }

    /// Binds `fd` to the Unix socket path under `mask`; closes `fd` when that fails.
    static func bindUnix(_ fd: Int32, _ path: String, umask mask: mode_t) throws {
        var address: sockaddr_un
        do { address = try unixAddress(path) } catch { close(fd); throw error }
        let oldMask = umask(mask)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(oldMask)
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw KexbootError(.ioError, "binding \(path)", cause: Errno(e))
        }
    }

    static func unixAddress(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { throw KexbootError(.invalidArgument, "\(path): socket path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }
}
