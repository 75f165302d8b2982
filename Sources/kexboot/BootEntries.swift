import KexbootConfig
import KexbootCore
import KexbootDevices
import KexbootOS

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A bootable entry found on a disk, with what it takes to boot it. (The daemon issue
/// moves this into the server module.)
struct DiscoveredEntry {
    var option: BootOption
    /// The partition device node its config came from.
    var node: String
    /// The directory its config treated as `/` (a btrfs subvolume such as `/@`, or "").
    var root: String
    var where_: String
    var isDefault: Bool
}

/// A filesystem found during discovery, by identity, so `uuid:…` resources resolve to it.
struct DiscoveredFilesystem {
    var node: String
    var fstype: String
    var uuid: String?
    var label: String?
    var partuuid: String?
    var partlabel: String?

    func matches(_ device: String) -> Bool {
        guard let colon = device.firstIndex(of: ":") else { return false }
        let kind = device[..<colon], value = String(device[device.index(after: colon)...])
        switch kind {
        case "uuid": return uuid?.lowercased() == value.lowercased()
        case "label": return label == value
        case "partuuid": return partuuid?.lowercased() == value.lowercased()
        case "partlabel": return partlabel == value
        default: return false
        }
    }
}

/// Finds the disks, their filesystems and their boot entries.
struct Discovery {
    var entries: [DiscoveredEntry] = []
    var filesystems: [DiscoveredFilesystem] = []
    var timeout: Int?
    var messages: [String] = []

    static func run(mounts: MountSet, waitSeconds: Double = 3) -> Discovery {
        var result = Discovery()
        let monitor = try? UdevMonitor()
        var disks: [DeviceInfo] = []
        // Disks may still be appearing (modules just loaded): wait a little for one.
        let deadline = Double(time(nil)) + waitSeconds
        repeat {
            disks = (monitor?.enumerate() ?? []).filter {
                $0.subsystem == .block && $0.devtype == "disk" && ($0.size ?? 0) > 0
                    && !$0.name.hasPrefix("ram") && !$0.name.hasPrefix("zram")
            }
            if !disks.isEmpty { break }
            usleep(100_000)
        } while Double(time(nil)) < deadline
        let prober = DiskProber(mounts: mounts)
        for disk in disks {
            guard let node = disk.node, let device = try? prober.probe(node) else { continue }
            func add(_ config: ParseResult?, root: String, node: String, fstype: String?, uuid: String?, label: String?, partuuid: String?, partlabel: String?, name: String) {
                if let fstype {
                    result.filesystems.append(DiscoveredFilesystem(node: node, fstype: fstype, uuid: uuid, label: label, partuuid: partuuid, partlabel: partlabel))
                }
                guard let config else { return }
                if result.timeout == nil { result.timeout = config.timeout }
                let firstConfig = !result.entries.contains { $0.isDefault }
                for (i, option) in config.entries.enumerated() {
                    result.entries.append(DiscoveredEntry(option: option, node: node, root: root, where_: name,
                                                          isDefault: firstConfig && i == (config.defaultIndex ?? 0)))
                }
            }
            if device.pttype == nil {
                add(device.config, root: device.configRoot, node: node, fstype: device.fstype, uuid: device.uuid, label: device.label, partuuid: nil, partlabel: nil, name: disk.name)
            }
            let partitionNodes = SysfsDevice.partitions(of: disk.name)
            for p in device.partitions {
                guard let name = partitionNodes[p.number] else { continue }
                add(p.config, root: p.configRoot, node: "/dev/\(name)", fstype: p.fstype, uuid: p.uuid, label: p.label, partuuid: p.partuuid,
                    partlabel: p.partlabel, name: name + (p.label.map { " \($0)" } ?? ""))
            }
        }
        result.messages = prober.diagnostics.map { "\($0.source): \($0.severity.rawValue): \($0.message)" }
        return result
    }
}

/// Boots one entry: copies its files from their filesystems into tmpfs (checking they
/// exist and fit), loads them, releases every mount, and starts the kernel.
struct EntryBooter {
    let mounts: MountSet
    let filesystems: [DiscoveredFilesystem]
    let stage: String

    func filesystem(for resource: Resource, entry: DiscoveredEntry) throws -> DiscoveredFilesystem {
        switch resource {
        case .url(let url):
            throw KexbootError(.unsupported, "\(url): network files are not supported yet")
        case .file(nil, _):
            guard let fs = filesystems.first(where: { $0.node == entry.node }) else {
                throw KexbootError(.notFound, "the filesystem of \(entry.node) is gone")
            }
            return fs
        case .file(let device?, _):
            guard let fs = filesystems.first(where: { $0.matches(device) }) else {
                throw KexbootError(.notFound, "no filesystem \(device) was found")
            }
            return fs
        }
    }

    /// Copies `resource` to `stage/name` and returns that path.
    func fetch(_ resource: Resource, as name: String, entry: DiscoveredEntry) throws -> String {
        let fs = try filesystem(for: resource, entry: entry)
        let path = resource.path ?? "/"
        let mountPoint = try mounts.mountReadOnly(fs.node, fstype: fs.fstype, name: Path.basename(fs.node))
        defer { mounts.unmount(mountPoint) }
        // Files on the config's own filesystem are relative to the config's root (a btrfs
        // subvolume, say); files named by UUID or label to the top of theirs.
        let files = DirectoryFileSource(root: resource.device == nil ? mountPoint + entry.root : mountPoint)
        guard let info = files.info(path), info.kind == .file, let host = files.hostPath(path) else {
            throw KexbootError(.notFound, "\(path) is missing on \(fs.node)")
        }
        var space = statvfs()
        if statvfs(stage, &space) == 0 {
            let free = UInt64(space.f_bavail) * UInt64(space.f_frsize)
            guard UInt64(info.size) + (1 << 20) < free else {
                throw KexbootError(.limitExceeded, "\(path) (\(info.size) bytes) does not fit in \(stage) (\(free) bytes free)")
            }
        }
        let target = stage + "/" + name
        try copyFile(host, to: target)
        if let expected = entry.option.checksums[path] {
            let actual = try sha256(of: target)
            guard actual == expected else {
                throw KexbootError(.invalidArgument, "\(path) has SHA-256 \(actual), not the \(expected) the config pins")
            }
        }
        return target
    }

    func sha256(of path: String) throws -> String {
        let file = try ReadOnlyFile(path: path)
        var hash = SHA256()
        var offset: UInt64 = 0
        while offset < file.size {
            let chunk = try file.read(at: offset, count: 1 << 20)
            guard !chunk.isEmpty else { break }
            hash.update(chunk)
            offset += UInt64(chunk.count)
        }
        return hash.finalize()
    }

    func copyFile(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw KexbootError(.ioError, "opening \(source)", cause: Errno(errno)) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw KexbootError(.ioError, "creating \(target)", cause: Errno(errno)) }
        defer { close(output) }
        try copyAll(from: input, to: output, what: "\(source) to \(target)")
    }

    /// Returns only when the boot failed (the error says why).
    func boot(_ entry: DiscoveredEntry, dryRun: Bool) -> KexbootError {
        do {
            let option = entry.option
            guard option.kind == .linux, let kernel = option.kernel else {
                throw KexbootError(.unsupported, "\(option.kind.rawValue) entries cannot be booted yet")
            }
            _ = mkdir(stage, 0o700)
            let kernelPath = try fetch(kernel, as: "kernel", entry: entry)
            var initrds: [String] = []
            for (i, initrd) in option.initrds.enumerated() {
                initrds.append(try fetch(initrd, as: "initrd-\(i)", entry: entry))
            }
            let dtb = try option.devicetree.map { try fetch($0, as: "dtb", entry: entry) }
            let plan = try Kexec.plan(kernel: kernelPath, initrds: initrds, devicetree: dtb, commandLine: option.args)
            print("kexboot: booting \"\(option.title)\"")
            if dryRun {
                print(plan.json.serialized(compact: true))
                throw KexbootError(.invalidArgument, "dry run: not booted")
            }
            try Kexec.load(plan)
            mounts.unmountAll()
            try Kexec.execute()
        } catch let error as KexbootError {
            return error
        } catch {
            return KexbootError(.ioError, "\(error)")
        }
    }
}
