#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CUdev
import KexbootCore

/// Block and network devices from libudev: what exists now (`enumerate`), and what comes
/// and goes (`events`), read on a dedicated thread.
///
/// The event source is udevd's (`udev`) when udevd runs — then devices carry its `ID_*`
/// properties — and the kernel's own uevents (`kernel`) when it does not, as in a small
/// initramfs.
public final class UdevMonitor: @unchecked Sendable {
    public enum Source: String, Sendable {
        case udev, kernel

        /// `udev` when udevd's control socket exists.
        public static var automatic: Source {
            access("/run/udev/control", F_OK) == 0 ? .udev : .kernel
        }
    }

    public let source: Source
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread: pthread_t?
    private let lock = NSLockLike()
    private var stopped = false

    public init(source: Source = .automatic) throws {
        guard let udev = udev_new() else { throw KexbootError(.ioError, "libudev: udev_new failed") }
        guard let monitor = udev_monitor_new_from_netlink(udev, source.rawValue) else {
            udev_unref(udev)
            throw KexbootError(.ioError, "libudev: cannot listen to \(source.rawValue) events (are you root?)")
        }
        udev_monitor_filter_add_match_subsystem_devtype(monitor, "block", nil)
        udev_monitor_filter_add_match_subsystem_devtype(monitor, "net", nil)
        // A large buffer: a burst of partition events must not be dropped.
        udev_monitor_set_receive_buffer_size(monitor, 4 << 20)
        guard udev_monitor_enable_receiving(monitor) >= 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw KexbootError(.ioError, "libudev: cannot receive \(source.rawValue) events")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw KexbootError(.ioError, "pipe failed")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        self.source = source
        self.udev = udev
        self.monitor = monitor
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        stop()
        if let thread { pthread_join(thread, nil) }
        close(wakeRead)
        close(wakeWrite)
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// Every block and network device that exists now (read from sysfs).
    public func enumerate() -> [DeviceInfo] {
        guard let e = udev_enumerate_new(udev) else { return [] }
        defer { udev_enumerate_unref(e) }
        udev_enumerate_add_match_subsystem(e, "block")
        udev_enumerate_add_match_subsystem(e, "net")
        udev_enumerate_scan_devices(e)
        var devices: [DeviceInfo] = []
        var entry = udev_enumerate_get_list_entry(e)
        while let current = entry {
            if let path = udev_list_entry_get_name(current), let device = udev_device_new_from_syspath(udev, path) {
                if let info = Self.info(device) { devices.append(info) }
                udev_device_unref(device)
            }
            entry = udev_list_entry_get_next(current)
        }
        // Disks before their partitions.
        return devices.sorted { ($0.subsystem.rawValue, $0.parent ?? $0.name, $0.name) < ($1.subsystem.rawValue, $1.parent ?? $1.name, $1.name) }
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
        let fd = udev_monitor_get_fd(monitor)
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            let n = poll(&fds, 2, -1)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[1].revents != 0 { break }
            guard fds[0].revents != 0 else { continue }
            guard let device = udev_monitor_receive_device(monitor) else { continue }
            defer { udev_device_unref(device) }
            guard let info = Self.info(device) else { continue }
            switch udev_device_get_action(device).map({ String(cString: $0) }) {
            case "add": continuation.yield(.added(info))
            case "remove": continuation.yield(.removed(info))
            case "change", "online", "offline", "move": continuation.yield(.changed(info))
            default: continue
            }
        }
        continuation.finish()
    }

    static func string(_ p: UnsafePointer<CChar>?) -> String? {
        p.map { String(cString: $0) }
    }

    static func info(_ device: OpaquePointer) -> DeviceInfo? {
        guard let subsystemName = string(udev_device_get_subsystem(device)),
              let subsystem = DeviceInfo.Subsystem(rawValue: subsystemName),
              let name = string(udev_device_get_sysname(device)) else { return nil }
        var info = DeviceInfo(subsystem: subsystem, name: name)
        var properties: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(device)
        while let current = entry {
            if let key = string(udev_list_entry_get_name(current)), key.hasPrefix("ID_") {
                properties[key] = string(udev_list_entry_get_value(current)) ?? ""
            }
            entry = udev_list_entry_get_next(current)
        }
        info.properties = properties
        switch subsystem {
        case .block:
            info.node = string(udev_device_get_devnode(device)) ?? "/dev/\(name)"
            info.devtype = string(udev_device_get_devtype(device))
            if let sectors = string(udev_device_get_sysattr_value(device, "size")).flatMap({ UInt64($0) }) {
                info.size = sectors * 512
            }
            if info.devtype == "partition" {
                if let parent = udev_device_get_parent_with_subsystem_devtype(device, "block", "disk") {
                    info.parent = string(udev_device_get_sysname(parent))
                    info.removable = string(udev_device_get_sysattr_value(parent, "removable")) == "1"
                }
            } else {
                info.removable = string(udev_device_get_sysattr_value(device, "removable")) == "1"
            }
        case .net:
            info.address = string(udev_device_get_sysattr_value(device, "address"))
        }
        return info
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
