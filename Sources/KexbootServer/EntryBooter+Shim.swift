#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootDevices
import KexbootOS

extension EntryBooter {
    /// Where the shim's pieces come from.
    public struct ShimSettings: Sendable {
        public var directory: String
        public var deviceTree: String
        public var bootpath: String?
    }

    /// An Open Firmware client in a PReP partition: its ELF, a bundle of the disk's PReP
    /// partition and its small partitions (at most 64 MiB each, 256 MiB in all), the
    /// machine's device tree, and the `kexec_load` plan (docs/ofshim.md).
    public func prepareShim(_ request: Request, settings: ShimSettings) throws -> OFShimPlan {
        guard let device = request.device, let prep = device.prep else {
            throw KexbootError(.invalidArgument, "\(request.title) is no PReP payload")
        }
        let disk = try ReadOnlyFile(path: device.node)
        let client = try disk.read(at: prep.start * 512, count: Int(min(prep.bytes, 64 << 20)))
        let small = try Self.partitionSizes(disk).filter { $0.value <= 64 << 20 }.map(\.key)
        let bootpath = try settings.bootpath ?? Self.devspec(device.node)
        let bundle = try OFBundle.fromDisk(disk, client: client, args: request.args.isEmpty ? nil : request.args, bootpath: bootpath,
                                           chosen: Set(small + [prep.number]))
        func whole(_ path: String, _ what: String) throws -> [UInt8] {
            let file = try ReadOnlyFile(path: path)
            var out: [UInt8] = []
            while true {
                let chunk = try file.read(at: UInt64(out.count), count: 1 << 20)
                if chunk.isEmpty { break }
                out += chunk
                if file.size > 0, UInt64(out.count) >= file.size { break }
            }
            guard !out.isEmpty else { throw KexbootError(.notFound, "\(what) \(path) is empty") }
            return out
        }
        let tree = try DeviceTree(parsing: try whole(settings.deviceTree, "device tree"))
        return try OFShimPlan.make(shim: try whole(settings.directory + "/ofshim.elf", "the shim"),
                                   kexecEntry: try whole(settings.directory + "/kexec-entry.bin", "the shim's kexec entry"),
                                   client: client, bundle: bundle, tree: tree)
    }

    /// Primary MBR partitions and their sizes in bytes.
    static func partitionSizes(_ disk: ReadOnlyFile) throws -> [UInt32: UInt64] {
        let mbr = try disk.read(at: 0, count: 512)
        guard mbr.count == 512 else { return [:] }
        var sizes: [UInt32: UInt64] = [:]
        for i in 0..<4 {
            let e = Array(mbr[(446 + 16 * i)..<(462 + 16 * i)])
            let count = UInt64(e[12]) | UInt64(e[13]) << 8 | UInt64(e[14]) << 16 | UInt64(e[15]) << 24
            if e[4] != 0, count != 0 { sizes[UInt32(i + 1)] = count * 512 }
        }
        return sizes
    }

    /// A disk's Open Firmware path as the kernel shows it on POWER.
    static func devspec(_ node: String) throws -> String {
        let name = Path.basename(node)
        if let file = try? ReadOnlyFile(path: "/sys/class/block/\(name)/device/devspec"),
           let text = try? file.read(at: 0, count: 1024) {
            let path = String(decoding: text, as: UTF8.self).trimmingBlanks()
            if path.hasPrefix("/") { return path }
        }
        throw KexbootError(.notFound, "\(node): no Open Firmware path known for the boot disk")
    }
}
