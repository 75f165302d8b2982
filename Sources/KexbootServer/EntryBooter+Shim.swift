#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootDevices
import KexbootNet
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
    public func prepareShim(_ request: Request, devices: [ServerDevice], fetcher: Fetcher, settings: ShimSettings) throws -> OFShimPlan {
        guard let device = request.device, let diskNode = device.diskNode else {
            throw KexbootError(.unsupported, "\(request.title): the Open Firmware shim boots clients from a partitioned disk")
        }
        let disk = try ReadOnlyFile(path: diskNode)
        let client: [UInt8]
        var chosen = Set(try OFBundle.mbrPartitions(disk).filter { $0.count * 512 <= 64 << 20 }.map(\.number))
        if let prep = device.prep {
            // The start comes from the partition table: past the end of the disk, nothing.
            guard let offset = ByteCount.ofSectors(prep.start), offset < disk.size else {
                throw KexbootError(.invalidArgument, "the PReP partition starts past the end of \(disk.path)")
            }
            client = try disk.read(at: offset, count: Int(min(prep.bytes, 64 << 20)))
        } else {
            // A client file a config names: copied (and checked against its sha256) first.
            _ = mkdir(stage, 0o700)
            let path = try fetch(request.kernel, as: "kernel", request: request, devices: devices, fetcher: fetcher, progress: nil)
            defer { unlink(path) }
            client = try ReadOnlyFile.contents(of: path, what: "client")
        }
        if let partition = device.partition { chosen.insert(UInt32(partition)) }
        let bootpath = try settings.bootpath ?? OFBundle.devspec(diskNode)
        let bundle = try OFBundle.fromDisk(disk, client: client, args: request.args.isEmpty ? nil : request.args, bootpath: bootpath,
                                           chosen: chosen)
        let tree = try DeviceTree(parsing: try ReadOnlyFile.contents(of: settings.deviceTree, what: "device tree"))
        return try OFShimPlan.make(shim: try ReadOnlyFile.contents(of: settings.directory + "/ofshim.elf", what: "the shim"),
                                   kexecEntry: try ReadOnlyFile.contents(of: settings.directory + "/kexec-entry.bin", what: "the shim's kexec entry"),
                                   client: client, bundle: bundle, tree: tree)
    }
}
