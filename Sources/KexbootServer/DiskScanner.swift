#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootConfig
import KexbootCore
import KexbootDevices
import KexbootOS

/// Probes disks and image files for the daemon, on a queue of its own (never on the event
/// loop: probing reads disks and mounts filesystems; nor on the work queue, so that a disk
/// slow to probe never holds up a boot from another). Keeps each disk's prober alive while
/// the disk is known, because an image's loop device lives as long as its prober.
///
/// A boot and the scans of its own disk still take turns (`using(disk:after:_:)`): the boot
/// waits for the scans queued before it, and a later scan waits for the boot, so that a
/// loop device is never released under a boot reading from it.
final class DiskScanner: @unchecked Sendable {
    struct Result: Sendable {
        var disk: String
        var devices: [(ServerDevice, [ServerOption])]
        var messages: [(Diagnostic.Severity, String)]
    }

    let mounts: MountSet
    /// Where scans and releases run, one at a time.
    let queue = WorkQueue()
    // Everything below is guarded by `mutex`: scans run on `queue`, boots on the work queue.
    private var mutex = pthread_mutex_t()
    private var changed = pthread_cond_t()
    /// Scans queued and scans finished, by disk; the disk being scanned now.
    private var queued: [String: Int] = [:]
    private var finished: [String: Int] = [:]
    private var scanning: [String: Int] = [:]
    /// Boots reading from a disk, by disk.
    private var inUse: [String: Int] = [:]
    private var probers: [String: DiskProber] = [:]
    /// The device node each device id has now, by disk. A rescan may move an image to
    /// another loop device; a boot queued behind it must use the new node.
    private var nodes: [String: [String: String]] = [:]
    /// The whole disk's node, by disk.
    private var diskNodes: [String: String] = [:]

    init(mounts: MountSet) {
        self.mounts = mounts
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&changed, nil)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    /// Waits, with `mutex` held, until `ready` holds.
    private func wait(until ready: () -> Bool) {
        while !ready() { pthread_cond_wait(&changed, &mutex) }
    }

    /// Counts a scan of `disk` about to be queued on `queue`; returns how many have been.
    @discardableResult
    func scheduled(disk: String) -> Int {
        locked {
            queued[disk, default: 0] += 1
            return queued[disk]!
        }
    }

    /// How many scans of `disk` have been queued so far: a boot waits for those.
    func ticket(disk: String) -> Int {
        locked { queued[disk, default: 0] }
    }

    /// Runs `body` once the first `ticket` scans of `disk` are done and no scan of it is
    /// under way; scans and releases of `disk` wait until `body` returns. Scans of other
    /// disks go on meanwhile. With no disk, runs `body` at once.
    func using<T>(disk: String?, after ticket: Int, _ body: () throws -> T) rethrows -> T {
        guard let disk else { return try body() }
        locked {
            wait { finished[disk, default: 0] >= ticket && scanning[disk, default: 0] == 0 }
            inUse[disk, default: 0] += 1
        }
        defer {
            locked {
                inUse[disk, default: 0] -= 1
                pthread_cond_broadcast(&changed)
            }
        }
        return try body()
    }

    /// Marks `disk` as being scanned (or released), once no boot reads from it and no
    /// other scan or release of it is under way (the daemon's shutdown releases images
    /// from the work queue).
    private func begin(disk: String) {
        locked {
            wait { inUse[disk, default: 0] == 0 && scanning[disk, default: 0] == 0 }
            scanning[disk, default: 0] += 1
        }
    }

    private func end(disk: String, counted: Bool) {
        locked {
            scanning[disk, default: 0] -= 1
            if counted { finished[disk, default: 0] += 1 }
            pthread_cond_broadcast(&changed)
        }
    }

    /// Probes `path` (a block device or an image file); `disk` is the name its devices are
    /// grouped under and `type` their device type. An image's devices are named
    /// `imageName` and `imageName:N` (partition N), so their ids survive a rescan that
    /// lands on another loop device; a disk's are the kernel's names.
    func scan(path: String, disk: String, type: String, image: String?, imageName: String? = nil,
              filter: (ServerDevice) -> Bool) -> Result {
        begin(disk: disk)
        defer { end(disk: disk, counted: true) }
        forget(disk: disk)
        let prober = DiskProber(mounts: mounts)
        var result = Result(disk: disk, devices: [], messages: [])
        let probed: ProbedDevice
        do {
            probed = try prober.probe(path)
        } catch {
            result.messages.append((.error, "\(error)"))
            return result
        }
        locked { probers[disk] = prober }
        func add(id: String, node: String, size: UInt64, fstype: String?, uuid: String?, label: String?,
                 partuuid: String?, partlabel: String?, config: ParseResult?, root: String,
                 isos: [ProbedISO] = [], iso: (path: String, hostFstype: String?)? = nil, partition: Int? = nil) {
            var device = ServerDevice(id: id, type: type, disk: disk, node: node, size: size)
            device.isoPath = iso?.path
            device.hostFstype = iso?.hostFstype
            device.partition = partition
            device.image = image
            device.fstype = fstype
            device.uuid = uuid
            device.label = label
            device.partuuid = partuuid
            device.partlabel = partlabel
            device.root = root
            device.config = config?.config
            device.format = config?.format.rawValue
            guard filter(device) else {
                result.messages.append((.info, "\(id): left out by the config's allow/deny rules"))
                return
            }
            var options: [ServerOption] = []
            if let config {
                for d in config.diagnostics where d.severity != .info {
                    result.messages.append((d.severity, "\(id): \(d)"))
                }
                for (i, option) in config.entries.enumerated() {
                    options.append(ServerOption(id: "\(id)#\(i)", device: id, option: option,
                                                isDefault: i == (config.defaultIndex ?? 0), configTimeout: config.timeout))
                }
            }
            result.devices.append((device, options))
            // The ISO images on this filesystem: each a device of its own, on the same node.
            for image in isos where image.config.map({ !$0.entries.isEmpty }) ?? false {
                add(id: "\(id):\(image.path)", node: node, size: image.size, fstype: "iso9660", uuid: image.uuid,
                    label: image.label, partuuid: nil, partlabel: nil, config: image.config, root: "",
                    iso: (image.path, fstype))
            }
        }
        let diskNode = probed.node ?? path
        if probed.pttype == nil, probed.fstype != nil {
            add(id: imageName ?? Path.basename(diskNode), node: diskNode, size: probed.size, fstype: probed.fstype, uuid: probed.uuid,
                label: probed.label, partuuid: nil, partlabel: nil, config: probed.config, root: probed.configRoot,
                isos: probed.isos)
        }
        for p in probed.partitions {
            guard let node = p.node else { continue }
            add(id: imageName.map { "\($0):\(p.number)" } ?? Path.basename(node), node: node, size: (ByteCount.ofSectors(p.size) ?? .max), fstype: p.fstype, uuid: p.uuid, label: p.label,
                partuuid: p.partuuid, partlabel: p.partlabel, config: p.config, root: p.configRoot, isos: p.isos,
                partition: p.number)
        }
        if probed.pttype != nil {
            for i in result.devices.indices where result.devices[i].0.partition != nil { result.devices[i].0.diskNode = diskNode }
        }
        // PReP partitions with an ELF payload: an Open Firmware client (GRUB's core.elf,
        // yaboot, a FreeBSD or AIX loader), booted through the shim.
        for p in probed.partitions where p.prep {
            guard let payload = p.payload, p.size > 0 else { continue }
            let name = imageName.map { "\($0):\(p.number)" }
                ?? SysfsDevice.partitions(of: Path.basename(diskNode))[p.number] ?? "\(Path.basename(diskNode))p\(p.number)"
            var device = ServerDevice(id: name, type: type, disk: disk, node: diskNode, size: (ByteCount.ofSectors(p.size) ?? .max))
            device.image = image
            device.partuuid = p.partuuid
            device.partlabel = p.partlabel
            device.format = "prep"
            device.prep = (UInt32(clamping: p.number), p.start, (ByteCount.ofSectors(p.size) ?? .max))
            device.diskNode = diskNode
            device.partition = p.number
            guard filter(device) else { continue }
            let what = "ELF\(payload.elfClass) \(payload.endian == .big ? "big" : "little") endian"
            // Chosen by hand: autoboot keeps to the disks' own menus (a GRUB in PReP would
            // only show the same grub.cfg, later).
            var option = BootOption(id: "prep", title: "PReP boot payload (partition \(p.number), \(what))", kind: .elf)
            option.path = [option.title]
            result.devices.append((device, [ServerOption(id: "\(name)#0", device: name, option: option, isDefault: false, configTimeout: nil)]))
        }
        for d in prober.diagnostics where d.severity != .info {
            result.messages.append((d.severity, "\(d.source): \(d.message)"))
        }
        locked {
            nodes[disk] = Dictionary(result.devices.map { ($0.0.id, $0.0.node) }, uniquingKeysWith: { a, _ in a })
            diskNodes[disk] = diskNode
        }
        return result
    }

    /// Forgets a disk once no boot reads from it; an image's loop device is detached once
    /// nothing uses it.
    func release(disk: String) {
        begin(disk: disk)
        forget(disk: disk)
        end(disk: disk, counted: false)
    }

    private func forget(disk: String) {
        // The prober (and so the loop device) goes outside the lock.
        let prober = locked { () -> DiskProber? in
            nodes[disk] = nil
            diskNodes[disk] = nil
            return probers.removeValue(forKey: disk)
        }
        _ = prober
    }

    /// `devices` with the nodes they have now; a device whose disk was released or
    /// rescanned without it is left out. Devices not on a disk (configs added by URL)
    /// are kept as they are.
    func current(_ devices: [ServerDevice]) -> [ServerDevice] {
        locked { devices.compactMap { d in
            // Devices that are no disk (configs added by URL) have no node to move.
            if d.directory != nil || d.type == "network" { return d }
            guard let node = nodes[d.disk]?[d.id] else { return nil }
            var d = d
            d.node = node
            if d.diskNode != nil { d.diskNode = diskNodes[d.disk] }
            return d
        } }
    }
}
