#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootConfig
import KexbootCore
import KexbootOS

/// Finds everything bootable on a disk or image: its partition table, every partition's
/// filesystem (probed with libblkid straight from the disk, never from udev's database),
/// the ELF in each PReP partition, and the boot config of each filesystem kexboot can
/// mount (read-only, then unmounted again).
///
/// Problems (a corrupt GPT, an unreadable partition, a mount that fails) become
/// diagnostics; the rest of the disk is still reported.
public final class DiskProber {
    public static let prepGUID = "9e1a2d38-c612-4316-aa26-8b49521e5a8b"

    /// Partition types that are meant to hold a filesystem: Linux (0x83, Linux data,
    /// x86-64 root, XBOOTLDR), EFI System, FAT and Microsoft basic data.
    static let filesystemTypes: Set<String> = [
        "0x83", "0x0b", "0x0c", "0x0e", "0xef", "0x06",
        "0fc63daf-8483-4772-8e79-3d69d8477de4", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
        "bc13c2ff-59e6-4262-a352-b275fd6f7172", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
        "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
    ]

    let mounts: MountSet
    let platform: Platform
    let parser: ConfigParser
    public private(set) var diagnostics: [ProbeDiagnostic] = []
    /// Loop devices attached for image files; released with the prober.
    private var loops: [LoopDevice] = []
    /// The partitions of the disk being probed that the kernel would not make devices for.
    private var refused: [Int] = []

    public init(mounts: MountSet, platform: Platform = .current) {
        self.mounts = mounts
        self.platform = platform
        self.parser = ConfigParser(platform: platform)
    }

    func report(_ source: String, _ severity: Diagnostic.Severity, _ message: String) {
        diagnostics.append(ProbeDiagnostic(source: source, severity: severity, message: message))
    }

    /// Probes a block device or an image file. Throws only when `path` cannot be opened.
    public func probe(_ path: String) throws -> ProbedDevice {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw KexbootError(.notFound, "\(path): \(String(cString: strerror(errno)))")
        }
        var loop: LoopDevice?
        let devicePath: String
        switch st.st_mode & S_IFMT {
        case S_IFBLK:
            devicePath = path
        case S_IFREG:
            let l = try LoopDevice(attaching: path)
            loops.append(l)
            loop = l
            devicePath = l.path
        default:
            throw KexbootError(.invalidArgument, "\(path): not a block device or an image file")
        }
        let disk = try ReadOnlyFile(path: devicePath)
        var device = ProbedDevice(source: path, size: disk.size)
        device.node = devicePath
        let read: (UInt64, Int) throws -> [UInt8] = { try disk.read(at: $0, count: $1) }

        let whole: BlkidProbe
        do {
            whole = try BlkidProbe(fd: disk.fd, offset: 0, size: disk.size)
            guard try whole.run(partitions: true) else {
                report(path, .info, "no partition table or filesystem found")
                return device
            }
        } catch {
            report(path, .error, "\(error)")
            return device
        }
        // A hybrid ISO (a CD image written to a USB stick) also carries an MBR or GPT whose
        // partitions only point into the ISO: the ISO 9660 filesystem is what boots — when
        // it holds a menu. A stale ISO signature under a newer partition table (a stick
        // repartitioned without wiping) leaves the partitions to be probed.
        if whole.partitionTable() != nil, whole.value("TYPE") == "iso9660" {
            let probe = DiskProber(mounts: mounts, platform: platform)
            if let config = probe.readISOConfig(disk, isoPath: nil, source: path, what: "ISO 9660 filesystem"), !config.entries.isEmpty {
                device.fstype = "iso9660"
                device.uuid = whole.value("UUID")
                device.label = whole.value("LABEL")
                device.config = config
                diagnostics += probe.diagnostics
                return device
            }
        }
        guard let table = whole.partitionTable() else {
            // A bare filesystem.
            device.fstype = whole.value("TYPE")
            device.uuid = whole.value("UUID")
            device.label = whole.value("LABEL")
            if device.fstype == "iso9660" {
                device.config = readISOConfig(disk, isoPath: nil, source: path, what: "ISO 9660 filesystem")
            } else if whole.value("USAGE") == "filesystem", let fstype = device.fstype {
                (device.config, device.configRoot, device.isos) = readConfig(node: devicePath, fstype: fstype, source: path,
                                                                identity: DeviceIdentity(uuid: device.uuid, label: device.label))
            }
            return device
        }
        device.pttype = table.type
        let sectors = disk.size / 512
        if table.type == "gpt" {
            for problem in GPTCheck.problems(sectors: sectors, read: read) { report(path, .warning, problem) }
        }
        checkLayout(table.partitions, sectors: sectors, source: path)
        refused = []
        for p in table.partitions {
            device.partitions.append(probePartition(p, tableType: table.type, disk: disk, devicePath: devicePath,
                                                    loop: loop, sectors: sectors, source: path))
        }
        if !refused.isEmpty {
            let s = refused.count == 1 ? "" : "s"
            report(path, .warning, "the kernel refused partition\(s) \(Self.ranges(refused)) (overlapping another or past the end of the disk): no device, so \(refused.count == 1 ? "its filesystem was" : "their filesystems were") not read")
        }
        if table.type == "dos" {
            device.partitions += emptyPrimaryEntries(read: read, known: Set(table.partitions.map(\.number)), source: path)
            device.partitions.sort { $0.number < $1.number }
        }
        return device
    }

    /// libblkid skips MBR entries of size 0; a PReP entry of size 0 is still worth a word.
    private func emptyPrimaryEntries(read: (UInt64, Int) throws -> [UInt8], known: Set<Int>, source: String) -> [ProbedPartition] {
        guard let mbr = try? read(0, 512), mbr.count == 512 else { return [] }
        var found: [ProbedPartition] = []
        for i in 0..<4 where !known.contains(i + 1) {
            let entry = Array(mbr[(446 + 16 * i)..<(462 + 16 * i)])
            let type = Int(entry[4])
            let start = (8..<12).reduce(UInt64(0)) { $0 | UInt64(entry[$1]) << (8 * UInt64($1 - 8)) }
            let size = (12..<16).reduce(UInt64(0)) { $0 | UInt64(entry[$1]) << (8 * UInt64($1 - 12)) }
            guard type != 0, size == 0 else { continue }
            let hex = String(type, radix: 16)
            let typeString = "0x" + (hex.count < 2 ? "0" + hex : hex)
            if type == 0x41 {
                report(source, .warning, "partition \(i + 1) is a PReP partition of size 0: no payload")
                found.append(ProbedPartition(number: i + 1, start: start, size: 0, type: typeString, prep: true,
                                             bootable: entry[0] & 0x80 != 0))
            } else {
                report(source, .info, "MBR entry \(i + 1) (type \(typeString)) has size 0 and was ignored")
            }
        }
        return found
    }

    /// `[2, 3, 4, 7]` → `2-4, 7`.
    static func ranges(_ numbers: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let sorted = numbers.sorted()
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }

    private func checkLayout(_ partitions: [BlkidProbe.Partition], sectors: UInt64, source: String) {
        for p in partitions where p.start + p.size > sectors {
            report(source, .warning, "partition \(p.number) ends at sector \(p.start + p.size), past the end of the disk (\(sectors) sectors)")
        }
        let real = partitions.filter { !$0.isExtended && $0.size > 0 }
        // A table of 128 copies of one entry has 8128 overlapping pairs: name a few.
        let shown = 8
        var pairs = 0
        for (i, a) in real.enumerated() {
            for b in real[(i + 1)...] where a.start < b.start + b.size && b.start < a.start + a.size {
                pairs += 1
                if pairs <= shown { report(source, .warning, "partitions \(a.number) and \(b.number) overlap") }
            }
        }
        if pairs > shown { report(source, .warning, "\(pairs - shown) more pairs of partitions overlap") }
    }

    private func probePartition(_ p: BlkidProbe.Partition, tableType: String, disk: ReadOnlyFile, devicePath: String,
                                loop: LoopDevice?, sectors: UInt64, source: String) -> ProbedPartition {
        let isPReP = tableType == "gpt" ? p.type == Self.prepGUID : p.typeCode == 0x41
        var out = ProbedPartition(
            number: p.number, start: p.start, size: p.size, type: p.type, partlabel: p.name, partuuid: p.uuid,
            prep: isPReP, bootable: tableType == "dos" && p.flags & 0x80 != 0)
        let what = "partition \(p.number)"
        // Only the part inside the disk can be read.
        let (offset, length) = Self.readableRange(start: p.start, size: p.size, sectors: sectors)
        if isPReP {
            out.payload = readPayload(disk: disk, offset: offset, length: length, what: what, source: source)
            return out
        }
        guard !p.isExtended, length > 0 else { return out }
        do {
            let probe = try BlkidProbe(fd: disk.fd, offset: offset, size: length)
            guard try probe.run(partitions: false) else {
                if Self.filesystemTypes.contains(p.type) {
                    // All zeros at the start: never formatted. Anything else: damaged.
                    let head = (try? disk.read(at: offset, count: Int(min(length, 128 << 10)))) ?? []
                    if head.allSatisfy({ $0 == 0 }) {
                        report(source, .info, "\(what) (type \(p.type)) is empty")
                    } else {
                        report(source, .warning, "\(what) (type \(p.type)) should hold a filesystem, but none was recognised (a damaged superblock?)")
                    }
                }
                return out
            }
            out.fstype = probe.value("TYPE")
            out.uuid = probe.value("UUID")
            out.label = probe.value("LABEL")
            guard probe.value("USAGE") == "filesystem", let fstype = out.fstype, MountSet.supported.contains(fstype) else { return out }
            let node: String
            if let loop {
                guard let made = try loop.partitionNode(number: p.number, startSector: p.start, sectors: length / 512) else {
                    refused.append(p.number)
                    return out
                }
                node = made
            } else if let name = SysfsDevice.partitions(of: Path.basename(devicePath))[p.number] {
                node = "/dev/\(name)"
            } else {
                report(source, .warning, "\(what): the kernel has no device for it; its filesystem was not read")
                return out
            }
            out.node = node
            (out.config, out.configRoot, out.isos) = readConfig(node: node, fstype: fstype, source: source,
                                    identity: DeviceIdentity(uuid: out.uuid, label: out.label, partuuid: p.uuid, partlabel: p.name),
                                    what: what)
        } catch {
            report(source, .warning, "\(what): \(error)")
        }
        return out
    }

    /// The part of a partition that lies inside a disk of `sectors` sectors, in bytes.
    /// Start and size come from the partition table (libblkid passes up to 2^63 sectors
    /// on): `start * 512` is computed only for a start inside the disk, where it cannot
    /// overflow. A partition that starts past the end has nothing to read (length 0).
    static func readableRange(start: UInt64, size: UInt64, sectors: UInt64) -> (offset: UInt64, length: UInt64) {
        guard start < sectors else { return (0, 0) }
        return (start * 512, min(size, sectors - start) * 512)
    }

    private func readPayload(disk: ReadOnlyFile, offset: UInt64, length: UInt64, what: String, source: String) -> ELFFile? {
        guard length > 0 else {
            report(source, .warning, "\(what) is a PReP partition of size 0: no payload")
            return nil
        }
        do {
            return try ELFFile(size: length) { at, count in
                guard at < length else { return [] }
                return try disk.read(at: offset + at, count: Int(min(UInt64(count), length - at)))
            }
        } catch {
            report(source, .warning, "\(what) is a PReP partition without a valid ELF payload: \(error)")
            return nil
        }
    }

    /// Mounts a filesystem read-only, parses the first config found, unmounts it.
    /// The config and the directory (within the filesystem) it was read as the root of.
    private func readConfig(node: String, fstype: String, source: String, identity: DeviceIdentity,
                            what: String = "filesystem") -> (ParseResult?, String, [ProbedISO]) {
        if fstype == "iso9660" {
            // Read in place: no isofs driver, no mount.
            guard let disk = try? ReadOnlyFile(path: node) else { return (nil, "", []) }
            return (readISOConfig(disk, isoPath: nil, source: source, what: what), "", [])
        }
        let mountPoint: String
        do {
            mountPoint = try mounts.mountReadOnly(node, fstype: fstype, name: Path.basename(node))
        } catch {
            report(source, .warning, "\(what): \(error)")
            return (nil, "", [])
        }
        defer { mounts.unmount(mountPoint) }
        let isos = findISOs(in: DirectoryFileSource(root: mountPoint), source: source, what: what)
        let (config, root) = readConfig(mountPoint: mountPoint, fstype: fstype, source: source, identity: identity, what: what)
        return (config, root, isos)
    }

    private func readConfig(mountPoint: String, fstype: String, source: String, identity: DeviceIdentity,
                            what: String) -> (ParseResult?, String) {
        var parser = self.parser
        parser.identity = identity
        var roots = [mountPoint]
        if fstype == "btrfs" {
            // `@`, `@rootfs`, … layouts: the system is in a subvolume below the top.
            let top = DirectoryFileSource(root: mountPoint)
            roots += (top.list("/") ?? []).filter { $0.hasPrefix("@") && top.info("/" + $0)?.kind == .directory }
                .map { mountPoint + "/" + $0 }
        }
        for root in roots {
            do {
                return (try parser.parse(files: DirectoryFileSource(root: root)), String(root.dropFirst(mountPoint.count)))
            } catch let error as KexbootError where error.code == .notFound {
                continue
            } catch {
                report(source, .warning, "\(what): \(error)")
                return (nil, "")
            }
        }
        return (nil, "")
    }
}
