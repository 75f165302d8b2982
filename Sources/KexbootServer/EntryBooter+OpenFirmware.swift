#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootDevices
import KexbootOS

/// The devices yaboot names: `partition:N` (partition N of the disk the config is on) and
/// `of:SPEC[:N]` (a disk by its Open Firmware path or alias, on pseries).
extension EntryBooter {
    /// Partition `number` of the disk `request.device` (the config's device) is on.
    func partitionDevice(_ number: String, request: Request, devices: [ServerDevice]) throws -> ServerDevice {
        guard let n = Int(number), n >= 1 else {
            throw KexbootError(.invalidArgument, "partition:\(number): no partition number")
        }
        guard let config = request.device else {
            throw KexbootError(.notFound, "partition \(n): there is no config's disk to find it on")
        }
        guard config.directory == nil, config.type != "network", config.isoPath == nil,
              config.partition != nil || config.diskNode != nil else {
            throw KexbootError(.notFound, "partition \(n): \(config.id), the config's device, is no partition of a disk")
        }
        let disk = config.disk
        guard let found = Self.filesystems(onDisk: disk, in: devices).first(where: { $0.partition == n }) else {
            throw KexbootError(.notFound, "partition \(n) of disk \(disk) was not found (or has no filesystem kexboot may read)")
        }
        return found
    }

    /// The device an Open Firmware `SPEC` (`hd`, `hd:3`, `/pci@…/scsi@…/sd@…:3`) names: an
    /// alias is looked up in the device tree's `aliases` node, then the path is matched
    /// against each disk's sysfs `devspec`. With no partition in the spec: the disk's own
    /// filesystem, else (when it is the config's disk) the config's partition.
    func openFirmwareDevice(_ spec: String, request: Request, devices: [ServerDevice]) throws -> ServerDevice {
        var (path, partition) = try Self.splitOpenFirmware(spec, what: "of:\(spec)")
        if !path.hasPrefix("/") {
            let aliases = deviceTree + "/aliases"
            guard isDirectory(aliases) else {
                throw KexbootError(.unsupported, "of:\(spec): Open Firmware alias '\(path)' cannot be resolved: "
                                   + "\(aliases) is missing (yaboot device names are resolved on pseries only)")
            }
            guard !path.contains(".."), let bytes = try? ReadOnlyFile.contents(of: aliases + "/" + path, what: "alias") else {
                throw KexbootError(.notFound, "of:\(spec): Open Firmware has no alias '\(path)' (\(aliases))")
            }
            let value = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingBlanks()
            let (aliased, aliasPartition) = try Self.splitOpenFirmware(value, what: "of:\(spec) (alias '\(path)' = \(value))")
            guard aliased.hasPrefix("/") else {
                throw KexbootError(.notFound, "of:\(spec): alias '\(path)' is '\(value)', no device path")
            }
            path = aliased
            if partition == nil { partition = aliasPartition }
        }
        // The disks kexboot knows and their Open Firmware paths.
        var disks: [(disk: String, node: String)] = []
        for d in devices where d.directory == nil && d.type != "network" && d.isoPath == nil {
            guard let node = d.diskNode ?? (d.partition == nil ? d.node : nil), !disks.contains(where: { $0.disk == d.disk }) else { continue }
            disks.append((d.disk, node))
        }
        let wanted = Self.comparable(path)
        guard let disk = disks.first(where: { (try? OFBundle.devspec($0.node, sysfs: sysfs)).map(Self.comparable) == wanted }) else {
            throw KexbootError(.notFound, "of:\(spec): no disk has the Open Firmware path \(path) (no sysfs devspec of "
                               + (disks.isEmpty ? "any disk" : disks.map(\.disk).joined(separator: ", ")) + " matches)")
        }
        let onDisk = Self.filesystems(onDisk: disk.disk, in: devices)
        if let partition {
            guard let found = onDisk.first(where: { $0.partition == partition }) else {
                throw KexbootError(.notFound, "of:\(spec): partition \(partition) of disk \(disk.disk) was not found (or has no filesystem kexboot may read)")
            }
            return found
        }
        if let whole = onDisk.first(where: { $0.partition == nil }) { return whole }
        if let config = request.device, config.disk == disk.disk, config.isoPath == nil { return config }
        throw KexbootError(.notFound, "of:\(spec): disk \(disk.disk) has partitions; the name gives none")
    }

    /// The filesystems on `disk` that files may be read from (no PReP payloads, no ISO
    /// images on them).
    static func filesystems(onDisk disk: String, in devices: [ServerDevice]) -> [ServerDevice] {
        devices.filter { $0.disk == disk && $0.prep == nil && $0.isoPath == nil && $0.directory == nil && $0.type != "network" }
    }

    /// An Open Firmware device spec's path and partition: the arguments after the first `:`
    /// of the last node name (`/pci@0/disk@8:3` → `/pci@0/disk@8`, 3; `hd:3` → `hd`, 3).
    static func splitOpenFirmware(_ spec: String, what: String) throws -> (path: String, partition: Int?) {
        let lastNode = spec.lastIndex(of: "/").map { spec.index(after: $0) } ?? spec.startIndex
        guard let colon = spec[lastNode...].firstIndex(of: ":") else { return (spec, nil) }
        let args = spec[spec.index(after: colon)...]
        let path = String(spec[..<colon])
        if args.isEmpty { return (path, nil) }
        guard args.allSatisfy({ $0 >= "0" && $0 <= "9" }), args.count < 10, let n = Int(args), n >= 1 else {
            throw KexbootError(.invalidArgument, "\(what): '\(args)' is no partition number")
        }
        return (path, n)
    }

    /// Open Firmware paths compare without case (hex unit addresses) and trailing slashes.
    static func comparable(_ path: String) -> String {
        var p = Substring(path.lowercased())
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }
}

private func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
}
