#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootOS

/// Block and network devices, read from the kernel itself (no libudev): what exists now
/// (`enumerate`: sysfs), and what comes and goes (`events`: a NETLINK_KOBJECT_UEVENT
/// socket, read on a dedicated thread).
///
/// The event source is udevd's (`udev`, netlink group 2) when udevd runs — then devices
/// carry its `ID_*` properties, also on enumeration, from its database in `/run/udev/data`
/// — and the kernel's own uevents (`kernel`, group 1) when it does not, as in a small
/// initramfs. Only datagrams from the kernel (sender port 0) or from root (udevd) count,
/// and every length and offset in them is checked: a malformed one is dropped.
public final class UdevMonitor: @unchecked Sendable {
    public enum Source: String, Sendable {
        case udev, kernel

        /// `udev` when udevd's control socket exists.
        public static var automatic: Source {
            access("/run/udev/control", F_OK) == 0 ? .udev : .kernel
        }

        /// The netlink multicast group (a bit mask) its messages go to.
        var group: UInt32 { self == .kernel ? 1 : 2 }
    }

    public let source: Source
    /// The NETLINK_KOBJECT_UEVENT socket.
    let fd: Int32
    /// Where sysfs and udevd's database are (a fixture's in tests).
    let sysfs: String
    let udevData: String
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread: pthread_t?
    private let lock = NSLockLike()
    private var stopped = false

    /// The largest datagram read: the kernel's are at most 2 KiB (UEVENT_BUFFER_SIZE),
    /// udevd's at most 8 KiB; a longer one is truncated and dropped.
    static let maxMessage = 1 << 16

    public convenience init(source: Source = .automatic) throws {
        try self.init(source: source, sysfs: "/sys", udevData: "/run/udev/data")
    }

    init(source: Source, sysfs: String, udevData: String) throws {
        // A large buffer: a burst of partition events must not be dropped.
        let fd = try Netlink.open(protocol: 15 /* NETLINK_KOBJECT_UEVENT */, type: Int32(SOCK_DGRAM.rawValue),
                                  groups: source.group, credentials: true, receiveBuffer: 4 << 20)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            let e = errno
            close(fd)
            throw KexbootError(.ioError, "pipe failed", cause: Errno(e))
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        self.source = source
        self.fd = fd
        self.sysfs = sysfs
        self.udevData = udevData
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        stop()
        if let thread { pthread_join(thread, nil) }
        close(wakeRead)
        close(wakeWrite)
        close(fd)
    }

    /// Every block and network device that exists now (read from sysfs; with udevd's
    /// `ID_*` properties from its database when the source is `udev`).
    public func enumerate() -> [DeviceInfo] {
        Self.scan(sysfs: sysfs, udevData: source == .udev ? udevData : nil)
    }

    /// Events from now on, until `stop()`; read on a thread of its own so that a busy
    /// caller never makes the kernel drop uevents.
    public func events() -> AsyncStream<DeviceEvent> {
        let (stream, continuation) = AsyncStream<DeviceEvent>.makeStream(bufferingPolicy: .unbounded)
        let box = Unmanaged.passRetained(ThreadContext(monitor: self, continuation: continuation))
        var t = pthread_t()
        let r = pthread_create(&t, nil, { raw in
            let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
            context.monitor.readLoop(context.continuation)
            return nil
        }, box.toOpaque())
        if r == 0 {
            thread = t
        } else {
            box.release()
            continuation.finish()
        }
        return stream
    }

    /// Ends the event stream.
    public func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    private final class ThreadContext {
        let monitor: UdevMonitor
        let continuation: AsyncStream<DeviceEvent>.Continuation
        init(monitor: UdevMonitor, continuation: AsyncStream<DeviceEvent>.Continuation) {
            self.monitor = monitor
            self.continuation = continuation
        }
    }

    private func readLoop(_ continuation: AsyncStream<DeviceEvent>.Continuation) {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            let n = poll(&fds, 2, -1)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[1].revents != 0 { break }
            guard fds[0].revents != 0 else { continue }
            let received: Netlink.Received
            do {
                received = try Netlink.receive(fd, capacity: Self.maxMessage, flags: Int32(MSG_DONTWAIT))
            } catch {
                // ENOBUFS: the kernel dropped events for want of buffer; go on with the next.
                if [EINTR, EAGAIN, EWOULDBLOCK, ENOBUFS].contains(error.code) { continue }
                break
            }
            guard Self.trusted(received, source: source), var uevent = Self.parse(received.bytes, source: source),
                  uevent.event != nil else { continue }
            Self.addAttributes(&uevent.device, at: sysfs + uevent.devpath)
            if let event = uevent.event { continuation.yield(event) }
        }
        continuation.finish()
    }

    // MARK: messages

    /// One uevent: what happened (`add`, `remove`, `change`, …) to which device.
    struct Uevent: Equatable {
        var action: String
        /// `/devices/…`, the device's directory under sysfs.
        var devpath: String
        /// Without what sysfs says (`size`, `removable`, `address`): `addAttributes` adds it.
        var device: DeviceInfo

        var event: DeviceEvent? {
            switch action {
            case "add": .added(device)
            case "remove": .removed(device)
            case "change", "online", "offline", "move": .changed(device)
            default: nil
            }
        }
    }

    /// Whether a datagram comes from whom `source` speaks for: the kernel's multicast to
    /// group 1 (sender port 0), or udevd's to group 2 (sent by root). Unicasts, truncated
    /// datagrams and ones without credentials are not.
    static func trusted(_ message: Netlink.Received, source: Source) -> Bool {
        guard !message.truncated, message.uid == 0, message.groups == source.group else { return false }
        return source == .udev || message.port == 0
    }

    /// The uevent in a datagram of `source`'s format, when it is well-formed and about a
    /// block or network device; `nil` for anything else.
    ///
    /// The kernel's: `ACTION@DEVPATH\0` then `KEY=VALUE\0`…. udevd's: a header — `libudev\0`,
    /// the magic 0xfeedcafe (big-endian), then header size, properties offset and
    /// properties length (native 32-bit) — and `KEY=VALUE\0`… at that offset.
    static func parse(_ bytes: [UInt8], source: Source) -> Uevent? {
        let properties: [String: String]
        switch source {
        case .kernel:
            guard let headerEnd = bytes.firstIndex(of: 0), headerEnd >= 4, headerEnd + 1 < bytes.count,
                  let at = bytes[..<headerEnd].firstIndex(of: UInt8(ascii: "@")),
                  at > 0, at + 1 < headerEnd, bytes[at + 1] == UInt8(ascii: "/"),
                  let p = keyValues(bytes[(headerEnd + 1)...]) else { return nil }
            properties = p
        case .udev:
            guard bytes.count >= 24, bytes.starts(with: Array("libudev".utf8) + [0]) else { return nil }
            func word(_ offset: Int) -> UInt32 {
                bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
            }
            guard UInt32(bigEndian: word(8)) == 0xfeedcafe,
                  let headerSize = Int(exactly: word(12)), let offset = Int(exactly: word(16)),
                  let length = Int(exactly: word(20)),
                  headerSize >= 24, offset >= headerSize, offset <= bytes.count, length > 0, length <= bytes.count - offset,
                  let p = keyValues(bytes[offset..<(offset + length)]) else { return nil }
            properties = p
        }
        guard let action = properties["ACTION"], !action.isEmpty,
              let devpath = properties["DEVPATH"], isDevpath(devpath),
              let subsystem = properties["SUBSYSTEM"].flatMap(DeviceInfo.Subsystem.init(rawValue:)) else { return nil }
        let parts = devpath.split(separator: "/")
        var device = DeviceInfo(subsystem: subsystem, name: sysname(parts[parts.count - 1]))
        if source == .udev { device.properties = properties.filter { $0.key.hasPrefix("ID_") } }
        if subsystem == .block {
            device.devtype = properties["DEVTYPE"]
            guard let node = node(properties["DEVNAME"], name: device.name) else { return nil }
            device.node = node
            if device.isPartition {
                // A partition's directory is in its disk's.
                guard parts.count >= 3 else { return nil }
                device.parent = sysname(parts[parts.count - 2])
            }
        }
        return Uevent(action: action, devpath: devpath, device: device)
    }

    /// `KEY=VALUE\0` fields up to the end or an empty field; `nil` when one lacks its `=`
    /// (or its key) or its NUL.
    static func keyValues(_ bytes: ArraySlice<UInt8>) -> [String: String]? {
        var result: [String: String] = [:]
        var start = bytes.startIndex
        while start < bytes.endIndex {
            guard let end = bytes[start...].firstIndex(of: 0) else { return nil }
            if end == start { break }
            guard let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")), equals > start else { return nil }
            result[String(decoding: bytes[start..<equals], as: UTF8.self)] = String(decoding: bytes[(equals + 1)..<end], as: UTF8.self)
            start = end + 1
        }
        return result
    }

    /// A sysfs device path: `/devices/…`, with no empty, `.` or `..` component.
    static func isDevpath(_ path: String) -> Bool {
        guard path.hasPrefix("/devices/") else { return false }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// The kernel name of a sysfs directory (`cciss!c0d0` → `cciss/c0d0`).
    static func sysname(_ component: Substring) -> String {
        String(component).split(separator: "!", omittingEmptySubsequences: false).joined(separator: "/")
    }

    /// The device node of `DEVNAME` (`sda` from the kernel, `/dev/sda` from udevd), or
    /// `/dev/NAME` without one; `nil` when it would point out of `/dev`.
    static func node(_ devname: String?, name: String) -> String? {
        guard let devname, !devname.isEmpty else { return "/dev/\(name)" }
        let path = devname.hasPrefix("/") ? devname : "/dev/\(devname)"
        guard path.hasPrefix("/dev/"),
              path.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
        else { return nil }
        return path
    }

    // MARK: sysfs

    /// The block and net devices under `sysfs`/class, with udevd's properties from
    /// `udevData` when given; disks before their partitions.
    static func scan(sysfs: String, udevData: String?) -> [DeviceInfo] {
        guard let root = realPath(sysfs) else { return [] }
        var devices: [DeviceInfo] = []
        for subsystem in [DeviceInfo.Subsystem.block, .net] {
            let directory = "\(root)/class/\(subsystem.rawValue)"
            for entry in DirectoryFileSource(root: directory).list("/") ?? [] {
                // /sys/class/block/sda → /sys/devices/…/block/sda
                guard let path = realPath("\(directory)/\(entry)"), path.hasPrefix(root + "/"),
                      var device = device(at: path, subsystem: subsystem, udevData: udevData) else { continue }
                addAttributes(&device, at: path)
                devices.append(device)
            }
        }
        return devices.sorted { ($0.subsystem.rawValue, $0.parent ?? $0.name, $0.name) < ($1.subsystem.rawValue, $1.parent ?? $1.name, $1.name) }
    }

    /// The device whose sysfs directory is `path`, from its `uevent` file.
    static func device(at path: String, subsystem: DeviceInfo.Subsystem, udevData: String?) -> DeviceInfo? {
        guard let uevent = attribute(path, "uevent") else { return nil }
        var fields: [String: String] = [:]
        for line in uevent.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "="), equals > line.startIndex else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        let parts = path.split(separator: "/")
        guard let last = parts.last else { return nil }
        var device = DeviceInfo(subsystem: subsystem, name: sysname(last))
        let record: String?
        switch subsystem {
        case .block:
            device.devtype = fields["DEVTYPE"]
            guard let node = node(fields["DEVNAME"], name: device.name) else { return nil }
            device.node = node
            if device.isPartition, parts.count >= 2 { device.parent = sysname(parts[parts.count - 2]) }
            if let major = fields["MAJOR"].flatMap({ UInt32($0) }), let minor = fields["MINOR"].flatMap({ UInt32($0) }) {
                record = "b\(major):\(minor)"
            } else {
                record = nil
            }
        case .net:
            record = fields["IFINDEX"].flatMap { Int32($0) }.map { "n\($0)" }
        }
        if let udevData, let record {
            device.properties = udevProperties(udevData + "/" + record)
        }
        return device
    }

    /// The `ID_*` properties in one of udevd's database records (`E:KEY=VALUE` lines).
    static func udevProperties(_ path: String) -> [String: String] {
        guard let bytes = try? DirectoryFileSource(root: "/").read(path, limit: 1 << 20) else { return [:] }
        var result: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("E:ID_") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            result[String(line[line.index(line.startIndex, offsetBy: 2)..<equals])] = String(line[line.index(after: equals)...])
        }
        return result
    }

    /// What sysfs says of a device at `path`: a block device's size and whether it (or,
    /// for a partition, its disk: the directory above) is removable; a net device's MAC.
    /// Gone devices (a `remove` event) keep what they have.
    static func addAttributes(_ device: inout DeviceInfo, at path: String) {
        switch device.subsystem {
        case .block:
            if let sectors = attribute(path, "size").flatMap({ UInt64($0) }) {
                let (bytes, overflow) = sectors.multipliedReportingOverflow(by: 512)
                if !overflow { device.size = bytes }
            }
            var disk = path
            if device.isPartition, let slash = path.lastIndex(of: "/") { disk = String(path[..<slash]) }
            device.removable = attribute(disk, "removable") == "1"
        case .net:
            device.address = attribute(path, "address")
        }
    }

    /// A sysfs attribute's text without its newline; `nil` when it cannot be read.
    static func attribute(_ directory: String, _ name: String) -> String? {
        guard let bytes = try? DirectoryFileSource(root: "/").read("\(directory)/\(name)", limit: 1 << 16) else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmingBlanks()
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// A pthread mutex (Foundation's NSLock without Foundation).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
