#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore

/// Interfaces, addresses and routes over rtnetlink (NETLINK_ROUTE): what `ip link set
/// up`, `ip addr add` and `ip route add default` do, without needing `ip`.
///
/// Requests are built as bytes (nlmsghdr, then ifinfomsg/ifaddrmsg/rtmsg, then rtattrs,
/// each padded to 4) and every one is acknowledged: a refusal comes back as the errno
/// the kernel put in its NLMSG_ERROR.
public final class Netlink {
    public let fd: Int32
    private var sequence: UInt32 = 1

    static let newLink: UInt16 = 16, delLink: UInt16 = 17, newAddr: UInt16 = 20, delAddr: UInt16 = 21, newRoute: UInt16 = 24
    static let request: UInt16 = 1, ack: UInt16 = 4, replace: UInt16 = 0x100, create: UInt16 = 0x400
    static let messageError: UInt16 = 2, messageDone: UInt16 = 3

    /// `groups`: multicast groups to listen to (1 = RTMGRP_LINK) for a monitor socket.
    public init(groups: UInt32 = 0) throws {
        fd = try Self.open(protocol: 0 /* NETLINK_ROUTE */, groups: groups)
    }

    deinit { close(fd) }

    /// A close-on-exec netlink socket of `protocol` (0 NETLINK_ROUTE, 15
    /// NETLINK_KOBJECT_UEVENT) bound to the multicast `groups` (a bit mask). With
    /// `credentials`, every datagram comes with its sender's SCM_CREDENTIALS (SO_PASSCRED);
    /// `receiveBuffer` sets SO_RCVBUFFORCE (root), else SO_RCVBUF (capped by
    /// net.core.rmem_max). The corresponding C calls are `socket`, `setsockopt` and `bind`.
    public static func open(protocol: Int32, type: Int32 = Int32(SOCK_RAW.rawValue), groups: UInt32,
                            credentials: Bool = false, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_NETLINK, type | Int32(SOCK_CLOEXEC.rawValue), `protocol`)
        guard fd >= 0 else { throw KexbootError(.ioError, "opening a netlink socket", cause: Errno(errno)) }
        func option(_ name: Int32, _ value: Int32) -> Bool {
            var v = value
            return setsockopt(fd, SOL_SOCKET, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0
        }
        if credentials, !option(SO_PASSCRED, 1) {
            let e = errno
            close(fd)
            throw KexbootError(.ioError, "asking for the senders' credentials on a netlink socket", cause: Errno(e))
        }
        if let receiveBuffer, !option(SO_RCVBUFFORCE, receiveBuffer) {
            _ = option(SO_RCVBUF, receiveBuffer)
        }
        // struct sockaddr_nl { u16 family; u16 pad; u32 pid; u32 groups; }
        var address = [UInt8](repeating: 0, count: 12)
        address.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(AF_NETLINK), toByteOffset: 0, as: UInt16.self)
            raw.storeBytes(of: groups, toByteOffset: 8, as: UInt32.self)
        }
        let rc = address.withUnsafeBytes { bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), 12) }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw KexbootError(.ioError, "binding a netlink socket", cause: Errno(e))
        }
        return fd
    }

    /// One netlink datagram and who sent it.
    public struct Received: Sendable, Equatable {
        public var bytes: [UInt8]
        /// The sender's port id (`nl_pid`): 0 is the kernel.
        public var port: UInt32
        /// The multicast groups it was sent to (`nl_groups`, a bit mask; 0 when unicast).
        public var groups: UInt32
        /// The sender's SCM_CREDENTIALS; `nil` without SO_PASSCRED.
        public var pid: Int32?
        public var uid: UInt32?
        /// It was longer than the buffer: `bytes` lost their tail.
        public var truncated: Bool

        public init(bytes: [UInt8], port: UInt32, groups: UInt32, pid: Int32? = nil, uid: UInt32? = nil, truncated: Bool = false) {
            self.bytes = bytes
            self.port = port
            self.groups = groups
            self.pid = pid
            self.uid = uid
            self.truncated = truncated
        }
    }

    /// The next datagram on `fd` (up to `capacity` bytes), with its sender's address and
    /// credentials, waiting for one unless `flags` has MSG_DONTWAIT. The corresponding C call
    /// is `recvmsg`.
    public static func receive(_ fd: Int32, capacity: Int = 1 << 16, flags: Int32 = 0) throws(Errno) -> Received {
        var bytes = [UInt8](repeating: 0, count: max(capacity, 1))
        var address = [UInt8](repeating: 0, count: 12)
        // One cmsghdr with a struct ucred (pid, uid, gid: 12 bytes), both padded to a word.
        let word = MemoryLayout<Int>.size
        let headerSpace = (MemoryLayout<cmsghdr>.size + word - 1) & ~(word - 1)
        var control = [UInt8](repeating: 0, count: headerSpace + ((12 + word - 1) & ~(word - 1)))
        var n = 0
        var messageFlags: Int32 = 0
        var controlLength = 0
        bytes.withUnsafeMutableBytes { data in
            address.withUnsafeMutableBytes { name in
                control.withUnsafeMutableBytes { ancillary in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_name = name.baseAddress
                        header.msg_namelen = socklen_t(name.count)
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = ancillary.baseAddress
                        header.msg_controllen = ancillary.count
                        repeat {
                            n = recvmsg(fd, &header, flags)
                        } while n < 0 && errno == EINTR
                        messageFlags = header.msg_flags
                        controlLength = Int(header.msg_controllen)
                    }
                }
            }
        }
        guard n >= 0 else { throw Errno(errno) }
        var received = Received(bytes: Array(bytes[..<min(n, bytes.count)]), port: address.get32(at: 4), groups: address.get32(at: 8),
                                truncated: messageFlags & Int32(MSG_TRUNC) != 0)
        // The ancillary data: cmsghdr { size_t len; int level; int type; } then the data.
        var offset = 0
        while offset + headerSpace <= min(controlLength, control.count) {
            let length = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int.self) }
            let level = Int32(bitPattern: control.get32(at: offset + word))
            let type = Int32(bitPattern: control.get32(at: offset + word + 4))
            guard length >= headerSpace, offset + length <= control.count else { break }
            if level == SOL_SOCKET, type == 2 /* SCM_CREDENTIALS */, length >= headerSpace + 12 {
                received.pid = Int32(bitPattern: control.get32(at: offset + headerSpace))
                received.uid = control.get32(at: offset + headerSpace + 4)
            }
            offset += (length + word - 1) & ~(word - 1)
        }
        return received
    }

    /// Sets IFF_UP on interface `index`.
    public func setUp(_ index: Int32, up: Bool = true) throws {
        var body = [UInt8](repeating: 0, count: 16) // ifinfomsg
        body.put(UInt32(bitPattern: index), at: 4)
        body.put(up ? UInt32(IFF_UP) : 0, at: 8)   // flags
        body.put(UInt32(IFF_UP), at: 12)           // change
        try transact(Self.newLink, flags: 0, body, what: "setting interface \(index) \(up ? "up" : "down")")
    }

    /// Adds (or replaces) an IPv4 or IPv6 address with its prefix length.
    public func addAddress(_ index: Int32, _ address: String, prefix: Int) throws {
        try changeAddress(Self.newAddr, flags: Self.create | Self.replace, index, address, prefix: prefix)
    }

    public func removeAddress(_ index: Int32, _ address: String, prefix: Int) throws {
        try changeAddress(Self.delAddr, flags: 0, index, address, prefix: prefix)
    }

    private func changeAddress(_ type: UInt16, flags: UInt16, _ index: Int32, _ address: String, prefix: Int) throws {
        if address.contains(":") {
            guard let ip = Self.ipv6(address), (1...128).contains(prefix) else {
                throw KexbootError(.invalidArgument, "\(address)/\(prefix) is not an IPv6 address and prefix")
            }
            var body: [UInt8] = [UInt8(AF_INET6), UInt8(prefix), 0, 0, 0, 0, 0, 0] // ifaddrmsg, scope universe
            body.put(UInt32(bitPattern: index), at: 4)
            body.attribute(2, ip) // IFA_LOCAL
            body.attribute(1, ip) // IFA_ADDRESS
            try transact(type, flags: flags, body, what: "\(type == Self.newAddr ? "adding" : "removing") \(address)/\(prefix)")
            return
        }
        guard let ip = Self.ipv4(address), (0...32).contains(prefix) else {
            throw KexbootError(.invalidArgument, "\(address)/\(prefix) is not an IPv4 address and prefix")
        }
        var body: [UInt8] = [UInt8(AF_INET), UInt8(prefix), 0, 0] // ifaddrmsg: family, prefixlen, flags, scope
        body += [0, 0, 0, 0]
        body.put(UInt32(bitPattern: index), at: 4)
        body.attribute(2, ip) // IFA_LOCAL
        body.attribute(1, ip) // IFA_ADDRESS
        if prefix < 31 {
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
            let host = UInt32(ip[0]) << 24 | UInt32(ip[1]) << 16 | UInt32(ip[2]) << 8 | UInt32(ip[3])
            let broadcast = host | ~mask
            body.attribute(4, [UInt8(broadcast >> 24), UInt8(truncatingIfNeeded: broadcast >> 16),
                               UInt8(truncatingIfNeeded: broadcast >> 8), UInt8(truncatingIfNeeded: broadcast)]) // IFA_BROADCAST
        }
        try transact(type, flags: flags, body, what: "\(type == Self.newAddr ? "adding" : "removing") \(address)/\(prefix)")
    }

    /// Adds (or replaces) the default route through `gateway` on interface `index`.
    public func addDefaultRoute(_ index: Int32, gateway: String) throws {
        guard let gw = Self.ipv4(gateway) else { throw KexbootError(.invalidArgument, "\(gateway) is not an IPv4 address") }
        // rtmsg: family, dst_len, src_len, tos, table (main), protocol (dhcp), scope (universe), type (unicast), flags
        var body: [UInt8] = [UInt8(AF_INET), 0, 0, 0, 254, 16, 0, 1, 0, 0, 0, 0]
        body.attribute(5, gw) // RTA_GATEWAY
        var oif = [UInt8](repeating: 0, count: 4)
        oif.put(UInt32(bitPattern: index), at: 0)
        body.attribute(4, oif) // RTA_OIF
        try transact(Self.newRoute, flags: Self.create | Self.replace, body, what: "adding the default route via \(gateway)")
    }

    /// Reads and drops whatever the socket has (a monitor's notifications); true when
    /// anything came.
    public func drain() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        var any = false
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n <= 0 { return any }
            any = true
        }
    }

    private func transact(_ type: UInt16, flags: UInt16, _ body: [UInt8], what: @autoclosure () -> String) throws {
        sequence &+= 1
        var message = [UInt8](repeating: 0, count: 16)
        message.put(UInt32(16 + body.count), at: 0)
        message.put16(type, at: 4)
        message.put16(Self.request | Self.ack | flags, at: 6)
        message.put(sequence, at: 8)
        message += body
        guard send(fd, message, message.count, 0) == message.count else {
            throw KexbootError(.ioError, what(), cause: Errno(errno))
        }
        var buffer = [UInt8](repeating: 0, count: 8192)
        for _ in 0..<64 {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw KexbootError(.ioError, what(), cause: Errno(errno)) }
            var offset = 0
            while offset + 16 <= n {
                let length = Int(buffer.get32(at: offset))
                let kind = buffer.get16(at: offset + 4)
                let seq = buffer.get32(at: offset + 8)
                guard length >= 16, offset + length <= n else { break }
                if seq == sequence, kind == Self.messageError, length >= 20 {
                    let code = Int32(bitPattern: buffer.get32(at: offset + 16))
                    if code == 0 { return }
                    throw KexbootError(.ioError, what(), cause: Errno(-code))
                }
                offset += (length + 3) & ~3
            }
        }
        throw KexbootError(.ioError, "\(what()): the kernel never acknowledged")
    }

    /// Four bytes of a dotted-quad IPv4 address.
    public static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    /// Sixteen bytes of an IPv6 address in text (`fd00::1`).
    public static func ipv6(_ text: String) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let rc = bytes.withUnsafeMutableBytes { inet_pton(AF_INET6, text, $0.baseAddress) }
        return rc == 1 ? bytes : nil
    }

    /// The prefix length of a dotted netmask (255.255.255.0 → 24), or `nil`.
    public static func prefixLength(_ netmask: String) -> Int? {
        guard let b = ipv4(netmask) else { return nil }
        let value = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
        let ones = (~value).leadingZeroBitCount
        return value == (ones == 0 ? 0 : ~UInt32(0) << (32 - ones)) ? ones : nil
    }
}

extension Array where Element == UInt8 {
    mutating func put(_ value: UInt32, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
    }

    mutating func put16(_ value: UInt16, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: UInt16.self) }
    }

    func get32(at offset: Int) -> UInt32 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    func get16(at offset: Int) -> UInt16 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }

    /// Appends an rtattr (length, type, data, padding to 4).
    mutating func attribute(_ type: UInt16, _ data: [UInt8]) {
        var header = [UInt8](repeating: 0, count: 4)
        header.put16(UInt16(4 + data.count), at: 0)
        header.put16(type, at: 2)
        self += header + data
        while count % 4 != 0 { append(0) }
    }
}

/// The network interfaces sysfs lists, as booting sees them.
public struct NetInterface: Sendable, Equatable {
    public var name: String
    public var index: Int32
    public var mac: String
    /// Ethernet-like (ARPHRD_ETHER) and not a tun/tap device: something DHCP can use.
    public var bootable: Bool

    /// Every interface in `/sys/class/net` (or `sysfs`), loopback excluded.
    public static func all(sysfs: String = "/sys/class/net") -> [NetInterface] {
        guard let names = DirectoryFileSource(root: sysfs).list("/") else { return [] }
        return names.sorted().compactMap { name in
            guard name != "lo" else { return nil }
            func read(_ file: String) -> String? {
                guard let bytes = try? DirectoryFileSource(root: "/").read("\(sysfs)/\(name)/\(file)", limit: 4096) else { return nil }
                return String(decoding: bytes, as: UTF8.self).trimmingBlanks()
            }
            let index = Int32(read("ifindex") ?? "") ?? Int32(if_nametoindex(name))
            let isTun = access("\(sysfs)/\(name)/tun_flags", F_OK) == 0
            let type = read("type")
            return NetInterface(name: name, index: index, mac: read("address") ?? "", bootable: type == "1" && !isTun)
        }
    }
}
