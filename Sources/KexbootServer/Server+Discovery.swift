#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import KexbootCore
import KexbootDevices
import KexbootOS

extension Server {
    /// The rules in the config that keep devices out.
    func admits(_ device: ServerDevice) -> Bool {
        if let deny = config.deny, deny.priority(of: device) != nil { return false }
        if let allow = config.allow, allow.priority(of: device) == nil { return false }
        return true
    }

    /// Probes an image file as a disk, on the scanner's queue; `reply` gets the outcome.
    func attach(image path: String, reply: ((Result<Int, KexbootError>) -> Void)?) {
        if !images.contains(path) { images.append(path) }
        nonisolated(unsafe) let reply = reply
        scan(path: path, disk: path, type: "disk", image: path) { [self] result in
            // An image that cannot be read is not kept: a rescan would only fail again.
            if case .failure = result, registry.devices(onDisk: path).isEmpty {
                images.removeAll { $0 == path }
                imageNames[path] = nil
                // Its loop device too (a probe can fail after attaching it).
                scanner.queue.async { [scanner] in scanner.release(disk: path) }
            }
            reply?(result)
        }
    }

    /// The name an image's devices are called by: its file name, or `NAME~2`, `NAME~3`
    /// when another attached image has that name. Kept for as long as the image is.
    func imageName(_ path: String) -> String {
        if let name = imageNames[path] { return name }
        let base = Path.basename(path)
        let taken = Set(imageNames.values)
        var name = base
        var n = 1
        while taken.contains(name) {
            n += 1
            name = "\(base)~\(n)"
        }
        imageNames[path] = name
        return name
    }

    func detach(image path: String) -> Bool {
        guard let i = images.firstIndex(of: path) else { return false }
        images.remove(at: i)
        imageNames[path] = nil
        removeDisk(path)
        return true
    }

    func removeDisk(_ disk: String) {
        diskGenerations[disk, default: 0] += 1
        for id in registry.devices(onDisk: disk) { broadcast(registry.remove(device: id)) }
        scanner.queue.async { [scanner] in scanner.release(disk: disk) }
        reconsiderAutoboot()
    }

    func scan(path: String, disk: String, type: String, image: String?, reply: ((Result<Int, KexbootError>) -> Void)?) {
        // The allow/deny rules are read on the loop; the scanner gets a copy.
        let cfg = config
        let filter: @Sendable (ServerDevice) -> Bool = { device in
            if let deny = cfg.deny, deny.priority(of: device) != nil { return false }
            if let allow = cfg.allow, allow.priority(of: device) == nil { return false }
            return true
        }
        nonisolated(unsafe) let reply = reply
        let name = image.map(imageName)
        diskGenerations[disk, default: 0] += 1
        let generation = diskGenerations[disk]!
        // On the scanner's own queue: a disk slow to probe holds up no boot from another.
        scanner.scheduled(disk: disk)
        scanner.queue.async { [scanner, loop] in
            let result = scanner.scan(path: path, disk: disk, type: type, image: image, imageName: name, filter: filter)
            loop.execute { [self] in
                // A disk removed (or scanned again) since this scan started: its result
                // is out of date. (A removal queued its release behind this scan.)
                if diskGenerations[disk] == generation { apply(result) }
                let failed = result.devices.isEmpty ? result.messages.first { $0.0 == .error } : nil
                if let failed {
                    reply?(.failure(KexbootError(.ioError, failed.1)))
                } else {
                    reply?(.success(result.devices.count))
                }
            }
        }
    }

    /// Puts a disk's probe into the registry: its devices replace those it had.
    func apply(_ result: DiskScanner.Result) {
        let fresh = Set(result.devices.map(\.0.id))
        for id in registry.devices(onDisk: result.disk) where !fresh.contains(id) {
            broadcast(registry.remove(device: id))
        }
        for (severity, message) in result.messages {
            log(severity == .error ? .error : severity == .warning ? .warning : .info, message)
        }
        for (device, options) in result.devices {
            let events = registry.set(device, options: options)
            // A rescan that found the same thing says nothing.
            guard !events.isEmpty else { continue }
            broadcast(events)
            log(.info, "\(device.id): \(options.count) boot option\(options.count == 1 ? "" : "s")\(device.config.map { " from \($0)" } ?? "")")
        }
        reconsiderAutoboot()
    }

    // MARK: the machine's disks

    /// Whole disks worth probing: not RAM disks, not loop devices (images come in through
    /// `--image` and `attach-image`, and kexboot's own would be probed twice).
    static func isCandidateDisk(_ d: DeviceInfo) -> Bool {
        d.subsystem == .block && d.devtype == "disk" && (d.size ?? 0) > 0
            && !d.name.hasPrefix("ram") && !d.name.hasPrefix("zram") && !d.name.hasPrefix("loop")
    }

    static func deviceType(_ d: DeviceInfo) -> String {
        if d.name.hasPrefix("sr") || d.properties["ID_CDROM"] == "1" { return "cdrom" }
        if d.properties["ID_BUS"] == "usb" || d.removable { return "usb" }
        return "disk"
    }

    func startDiskDiscovery() {
        do {
            let monitor = try UdevMonitor()
            self.monitor = monitor
            for d in monitor.enumerate() where Server.isCandidateDisk(d) {
                if let node = d.node { scan(path: node, disk: d.name, type: Server.deviceType(d), image: nil, reply: nil) }
            }
            let events = monitor.events()
            let loop = self.loop
            Task.detached { [self] in
                for await event in events {
                    loop.execute { [self] in handle(event) }
                }
            }
        } catch {
            log(.error, "device discovery: \(error)")
        }
    }

    func handle(_ event: DeviceEvent) {
        let d = event.device
        guard Server.isCandidateDisk(d) || (d.subsystem == .block && d.devtype == "disk" && !d.name.hasPrefix("loop")) else { return }
        switch event {
        case .added(let d), .changed(let d):
            if Server.isCandidateDisk(d), let node = d.node {
                log(.info, "\(d.name): \(event.isAdd ? "appeared" : "changed")")
                scan(path: node, disk: d.name, type: Server.deviceType(d), image: nil, reply: nil)
            } else if !registry.devices(onDisk: d.name).isEmpty {
                // Media removed (size 0).
                removeDisk(d.name)
            }
        case .removed(let d):
            log(.info, "\(d.name): gone")
            removeDisk(d.name)
        }
    }

    /// Probes every known disk and image again.
    func rescan(reply: @escaping (Int) -> Void) {
        nonisolated(unsafe) let reply = reply
        if settings.scanDisks, let monitor {
            let present = Set(monitor.enumerate().filter(Server.isCandidateDisk).map(\.name))
            for disk in Set(registry.devices.filter { $0.image == nil }.map(\.disk)) where !present.contains(disk) {
                removeDisk(disk)
            }
            for d in monitor.enumerate() where Server.isCandidateDisk(d) {
                if let node = d.node { scan(path: node, disk: d.name, type: Server.deviceType(d), image: nil, reply: nil) }
            }
        }
        for image in images { scan(path: image, disk: image, type: "disk", image: image, reply: nil) }
        for url in urls { readURLAgain(url) }
        // Both queues are serial: this runs after every scan above (on the scanner's queue)
        // and every local URL read (on the work queue) has been applied.
        scanner.queue.async { [work, loop] in
            work.async { loop.execute { [self] in reply(registry.devices.count) } }
        }
    }
}

extension DeviceEvent {
    var isAdd: Bool {
        if case .added = self { return true }
        return false
    }
}
