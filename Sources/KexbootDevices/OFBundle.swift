#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootOS

/// The handoff bundle the Open Firmware shim reads (docs/ofshim.md, version 1): the client
/// ELF, its arguments, the boot disk's OF path, and read-only copies of the disk ranges the
/// client may read, as extents. Byte for byte what `Tests/ofshim/mkbundle.py` writes.
public enum OFBundle {
    public struct Partition: Hashable, Sendable {
        public var number: UInt32
        public var type: UInt32
        public var start: UInt64
        public var count: UInt64

        public init(number: UInt32, type: UInt32, start: UInt64, count: UInt64) {
            self.number = number
            self.type = type
            self.start = start
            self.count = count
        }
    }

    public static let magic = Array("KXOFBNDL".utf8)
    public static let version: UInt32 = 1
    static let headerSize = 0x48

    /// Header, args, bootpath, partition table, extent table, client, extent data (each
    /// 8-aligned but the strings), zero padding to a multiple of 8; CRC-32 last.
    public static func build(client: [UInt8], args: String?, bootpath: String?, blockSize: Int = 512, diskBlocks: UInt64 = 0,
                             partitions: [Partition] = [], extents: [(block: UInt64, data: [UInt8])] = []) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: headerSize)
        func put(_ data: [UInt8], align: Int = 8) -> Int {
            while out.count % align != 0 { out.append(0) }
            let offset = out.count
            out += data
            return offset
        }
        let argsOffset = args.map { put(Array($0.utf8) + [0], align: 1) } ?? 0
        let bootOffset = bootpath.map { put(Array($0.utf8) + [0], align: 1) } ?? 0
        let partsOffset = put(partitions.flatMap { be32($0.number) + be32($0.type) + be64($0.start) + be64($0.count) })
        let extentsOffset = put([UInt8](repeating: 0, count: 24 * extents.count))
        let clientOffset = client.isEmpty ? 0 : put(client)
        var table: [UInt8] = []
        for (block, data) in extents {
            let offset = put(data)
            table += be64(block) + be64(UInt64(data.count / blockSize)) + be32(UInt32(offset)) + be32(0)
        }
        out.replaceSubrange(extentsOffset..<(extentsOffset + table.count), with: table)
        while out.count % 8 != 0 { out.append(0) }
        var header = magic + be32(version) + be32(UInt32(headerSize)) + be32(UInt32(out.count)) + be32(0)
        header += be32(UInt32(clientOffset)) + be32(UInt32(client.count)) + be32(UInt32(argsOffset)) + be32(UInt32(bootOffset))
        header += be64(diskBlocks) + be32(UInt32(blockSize)) + be32(UInt32(partitions.count)) + be32(UInt32(partsOffset))
        header += be32(UInt32(extents.count)) + be32(UInt32(extentsOffset)) + be32(0)
        out.replaceSubrange(0..<headerSize, with: header)
        out.replaceSubrange(0x14..<0x18, with: be32(CRC32.checksum(out)))
        return out
    }

    /// A bundle for a disk: its first `head` blocks (the partition table) and the whole of
    /// each chosen partition (all when `chosen` is nil), with every primary MBR partition
    /// in the table so `:N` numbering matches the disk.
    public static func fromDisk(_ disk: ReadOnlyFile, client: [UInt8], args: String?, bootpath: String?,
                                chosen: Set<UInt32>? = nil, head: Int = 1, blockSize: Int = 512,
                                limit: UInt64 = 256 << 20) throws -> [UInt8] {
        let partitions = try mbrPartitions(disk)
        if let chosen, let missing = chosen.first(where: { n in !partitions.contains { $0.number == n } }) {
            throw KexbootError(.notFound, "\(disk.path) has no partition \(missing)")
        }
        // The shim refuses a bundle whose partitions or extents leave the disk, or whose
        // extents overlap: say so here, before anything is loaded.
        let diskBlocks = disk.size / UInt64(blockSize)
        for p in partitions where p.start > diskBlocks || p.count > diskBlocks - p.start {
            throw KexbootError(.invalidArgument, "\(disk.path): partition \(p.number) ends past the end of the disk")
        }
        let carried = partitions.filter { chosen?.contains($0.number) ?? true }
        // A partition starting inside the head (an isohybrid MBR's partition 1 at block 0)
        // carries the head itself.
        var ranges: [(UInt64, UInt64)] = carried.contains { $0.start < UInt64(head) } ? [] : [(UInt64(0), UInt64(head))]
        for p in carried { ranges.append((p.start, p.count)) }
        ranges.sort { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.0 + a.1 > b.0 {
            throw KexbootError(.invalidArgument, "\(disk.path): partitions overlap at block \(b.0)")
        }
        let bytes = ranges.reduce(UInt64(0)) { $0 + $1.1 * UInt64(blockSize) }
        guard bytes <= limit else {
            throw KexbootError(.limitExceeded, "the bundle would carry \(bytes >> 20) MiB of \(disk.path) (at most \(limit >> 20) MiB)")
        }
        var extents: [(block: UInt64, data: [UInt8])] = []
        for (start, count) in ranges {
            let data = try disk.read(at: start * UInt64(blockSize), count: Int(count) * blockSize)
            guard data.count == Int(count) * blockSize else {
                throw KexbootError(.ioError, "\(disk.path): blocks \(start)+\(count) lie past its end")
            }
            extents.append((start, data))
        }
        return build(client: client, args: args, bootpath: bootpath, blockSize: blockSize,
                     diskBlocks: diskBlocks, partitions: partitions, extents: extents)
    }

    /// The primary MBR partitions of a disk.
    public static func mbrPartitions(_ disk: ReadOnlyFile) throws -> [Partition] {
        let mbr = try disk.read(at: 0, count: 512)
        guard mbr.count == 512, mbr[510] == 0x55, mbr[511] == 0xAA else {
            throw KexbootError(.invalidArgument, "\(disk.path): no MBR signature (the shim's bundle carries MBR disks)")
        }
        var partitions: [Partition] = []
        for i in 0..<4 {
            let e = Array(mbr[(446 + 16 * i)..<(462 + 16 * i)])
            let type = UInt32(e[4])
            let start = UInt64(e[8]) | UInt64(e[9]) << 8 | UInt64(e[10]) << 16 | UInt64(e[11]) << 24
            let count = UInt64(e[12]) | UInt64(e[13]) << 8 | UInt64(e[14]) << 16 | UInt64(e[15]) << 24
            if type != 0 && count != 0 { partitions.append(Partition(number: UInt32(i + 1), type: type, start: start, count: count)) }
        }
        return partitions
    }

    /// A disk's Open Firmware path as the kernel shows it on POWER: the disk's own sysfs
    /// `devspec` (a virtio disk), or, for a SCSI disk on a PAPR virtual SCSI adapter
    /// (ibmvscsi), the adapter's `devspec` and the disk's SRP LUN as its unit address —
    /// `/vdevice/v-scsi@71000003/disk@8000000000000000` for target 0, LUN 0, as SLOF and
    /// powerpc-utils' ofpathname name it.
    public static func devspec(_ node: String, sysfs: String = "/sys") throws -> String {
        let name = Path.basename(node)
        func read(_ path: String) -> String? {
            guard let text = try? ReadOnlyFile.contents(of: path, what: "devspec") else { return nil }
            let value = String(decoding: text.prefix { $0 != 0 }, as: UTF8.self).trimmingBlanks()
            return value.hasPrefix("/") ? value : nil
        }
        let device = "\(sysfs)/class/block/\(name)/device"
        if let own = read(device + "/devspec") { return own }
        if let real = realPath(device) {
            // The SCSI device's directory is named host:channel:target:lun.
            let hctl = Path.basename(real).split(separator: ":").compactMap { UInt64($0) }
            var dir = Path.directory(real)
            while hctl.count == 4, dir.count > sysfs.count, dir.hasPrefix(sysfs) {
                if let adapter = read(dir + "/devspec") {
                    let (channel, target, lun) = (hctl[1], hctl[2], hctl[3])
                    guard Path.basename(adapter).hasPrefix("v-scsi"), channel < 8, target < 64, lun < 32 else { break }
                    let srp = (0x8000 | target << 8 | channel << 5 | lun) << 48
                    let hex = String(srp, radix: 16)
                    return adapter + "/disk@" + String(repeating: "0", count: 16 - hex.count) + hex
                }
                dir = Path.directory(dir)
            }
        }
        throw KexbootError(.notFound, "\(node): no Open Firmware path known for the boot disk (give one)")
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(v & 0xFFFF_FFFF)) }
}
