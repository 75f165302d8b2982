internal import CBlkid
import KexbootCore

/// One libblkid probe over a byte range of an open device (the whole disk, or one
/// partition of it read through the disk: no partition device node is needed to look).
final class BlkidProbe {
    private let probe: blkid_probe

    struct Partition {
        var number: Int
        /// In 512-byte sectors.
        var start: UInt64
        var size: UInt64
        var type: String
        var typeCode: Int
        var name: String?
        var uuid: String?
        var flags: UInt64
        var isExtended: Bool
    }

    init(fd: Int32, offset: UInt64, size: UInt64) throws {
        guard let probe = blkid_new_probe() else { throw KexbootError(.ioError, "libblkid: out of memory") }
        guard blkid_probe_set_device(probe, fd, blkid_loff_t(offset), blkid_loff_t(size)) == 0 else {
            blkid_free_probe(probe)
            throw KexbootError(.ioError, "libblkid cannot read the device")
        }
        self.probe = probe
    }

    deinit { blkid_free_probe(probe) }

    /// Looks for a filesystem (and, when `partitions`, a partition table).
    /// Returns false when nothing was recognised.
    func run(partitions: Bool) throws -> Bool {
        blkid_probe_enable_superblocks(probe, 1)
        blkid_probe_set_superblocks_flags(probe, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE)
        blkid_probe_enable_partitions(probe, partitions ? 1 : 0)
        if partitions { blkid_probe_set_partitions_flags(probe, BLKID_PARTS_ENTRY_DETAILS) }
        switch blkid_do_safeprobe(probe) {
        case 0: return true
        case 1: return false
        case -2: throw KexbootError(.parseError, "more than one filesystem or partition table signature was found (ambivalent)")
        default: throw KexbootError(.ioError, "libblkid could not read the device")
        }
    }

    func value(_ name: String) -> String? {
        var data: UnsafePointer<CChar>?
        var length = 0
        guard blkid_probe_lookup_value(probe, name, &data, &length) == 0, let data else { return nil }
        return String(cString: data)
    }

    /// The partition table type (`gpt`, `dos`) and its partitions, when one was found.
    func partitionTable() -> (type: String, partitions: [Partition])? {
        guard let list = blkid_probe_get_partitions(probe), let table = blkid_partlist_get_table(list),
              let typeName = blkid_parttable_get_type(table) else { return nil }
        let type = String(cString: typeName)
        var result: [Partition] = []
        let count = blkid_partlist_numof_partitions(list)
        for i in 0..<max(count, 0) {
            guard let p = blkid_partlist_get_partition(list, i) else { continue }
            let code = Int(blkid_partition_get_type(p))
            let typeString = blkid_partition_get_type_string(p).map { String(cString: $0).lowercased() }
            let partTable = blkid_partition_get_table(p).flatMap { blkid_parttable_get_type($0) }.map { String(cString: $0) }
            let isGPT = partTable == "gpt"
            result.append(Partition(
                number: Int(blkid_partition_get_partno(p)),
                start: UInt64(max(blkid_partition_get_start(p), 0)),
                size: UInt64(max(blkid_partition_get_size(p), 0)),
                type: isGPT ? (typeString ?? "") : "0x" + hex2(code),
                typeCode: code,
                name: blkid_partition_get_name(p).map { String(cString: $0) },
                uuid: blkid_partition_get_uuid(p).map { String(cString: $0).lowercased() },
                flags: UInt64(blkid_partition_get_flags(p)),
                isExtended: blkid_partition_is_extended(p) != 0))
        }
        return (type, result)
    }

    private func hex2(_ v: Int) -> String {
        let s = String(v, radix: 16)
        return s.count < 2 ? "0" + s : s
    }
}
