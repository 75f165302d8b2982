import KexbootCore
import KexbootOS

/// The `kexec_load` plan that starts an Open Firmware client (GRUB, FreeBSD's loader, AIX)
/// through the shim (docs/ofshim.md, "What kexboot's kexec plan contains"): the shim's
/// PT_LOAD (loaded high, copied to physical 0 by the kexec entry), the bundle and the edited device tree high in `/memory@0` below
/// 4 GiB, and the kexec entry (`kexec-entry.bin`, with the tree's address at 0x10100) as
/// the entry point.
public struct OFShimPlan: Sendable {
    public struct Segment: Hashable, Sendable {
        public var what: String
        public var bytes: [UInt8]
        public var mem: UInt64
        public var memsz: UInt64
    }

    public var segments: [Segment]
    public var entry: UInt64
    public var tree: DeviceTree

    /// Where the tree's address goes in the kexec entry; then the shim's load address,
    /// the bytes the entry copies to 0 and the bytes the shim occupies there.
    public static let entrySlot = 0x10100
    /// Segments start and end on 64 KiB: the kernel wants both page aligned, and ppc64
    /// kernels (Debian, Fedora, RHEL) use 64 KiB pages (a multiple of 4 KiB ones too).
    static let page: UInt64 = 0x10000

    /// - Parameters:
    ///   - shim: `ofshim.elf`; its single PT_LOAD goes to physical 0.
    ///   - kexecEntry: `kexec-entry.bin`.
    ///   - client: the client ELF (its PT_LOADs are kept clear of).
    ///   - bundle: from `OFBundle`.
    ///   - tree: the running machine's device tree.
    public static func make(shim: [UInt8], kexecEntry: [UInt8], client: [UInt8], bundle: [UInt8], tree original: DeviceTree) throws -> OFShimPlan {
        let shimELF = try ELFFile(bytes: shim)
        let loads = shimELF.segments.filter { $0.type == ELFFile.Segment.load }
        guard loads.count == 1, let shimLoad = loads.first, shimLoad.paddr == 0,
              shimLoad.offset + shimLoad.filesz <= UInt64(shim.count) else {
            throw KexbootError(.invalidArgument, "ofshim.elf: expected one PT_LOAD at physical 0")
        }
        guard kexecEntry.count >= entrySlot + 32 else {
            throw KexbootError(.invalidArgument, "kexec-entry.bin: \(kexecEntry.count) bytes, too short for the tree's address at \(entrySlot)")
        }
        let clientELF = try ELFFile(bytes: client)
        let shimEnd = roundUp(shimLoad.memsz)
        for s in clientELF.segments where s.type == ELFFile.Segment.load {
            guard s.paddr < 1 << 32, s.memsz <= (1 << 32) - s.paddr else {
                throw KexbootError(.invalidArgument, "the client loads at 0x\(String(s.paddr, radix: 16)), beyond the 4 GiB the shim serves")
            }
            guard s.paddr >= shimEnd || s.memsz == 0 else {
                throw KexbootError(.invalidArgument, "the client loads at 0x\(String(s.paddr, radix: 16)), inside the shim's first \(shimEnd >> 10) KiB")
            }
        }

        // RAM the shim can touch: /memory@0, below 4 GiB.
        let memory = try ramBelow4G(original)
        var busy: [(UInt64, UInt64)] = [(0, shimEnd)]
        busy += clientELF.segments.filter { $0.type == ELFFile.Segment.load }.map { ($0.paddr, $0.paddr + $0.memsz) }
        busy += original.reservations.map { ($0.address, $0.address + $0.size) }
        var top = memory.end
        func place(_ size: UInt64, _ what: String) throws -> UInt64 {
            let length = roundUp(size)
            while true {
                guard top >= memory.start + length else { throw KexbootError(.limitExceeded, "no room in /memory@0 for the \(what) (\(size) bytes)") }
                let start = (top - length) & ~(page - 1)
                if let clash = busy.first(where: { $0.0 < start + length && start < $0.1 }) {
                    top = clash.0
                    continue
                }
                busy.append((start, start + length))
                top = start
                return start
            }
        }
        // Linux refuses kexec segments below the running kernel's end (it lives at 0), so
        // the shim is loaded high and the kexec entry copies it to 0 before entering it.
        let shimBytes = Array(shim[Int(shimLoad.offset)..<Int(shimLoad.offset + shimLoad.filesz)])
        let shimCopy = (UInt64(shimBytes.count) + 7) & ~7
        let shimAddress = try place(shimCopy, "shim")
        let entryAddress = try place(UInt64(kexecEntry.count), "kexec entry")
        let bundleAddress = try place(UInt64(bundle.count), "bundle")
        var tree = original
        tree.edit("/chosen") {
            $0.remove("linux,initrd-start")
            $0.remove("linux,initrd-end")
            $0.set("linux,initrd-start", DeviceTree.u64(bundleAddress))
            $0.set("linux,initrd-end", DeviceTree.u64(bundleAddress + UInt64(bundle.count)))
        }
        let blob = tree.serialized()
        let treeAddress = try place(UInt64(blob.count), "device tree")
        var entry = kexecEntry
        entry.replaceSubrange(entrySlot..<(entrySlot + 32), with: DeviceTree.u64(treeAddress) + DeviceTree.u64(shimAddress)
                              + DeviceTree.u64(shimCopy) + DeviceTree.u64((shimLoad.memsz + 7) & ~7))
        let segments = [
            Segment(what: "shim", bytes: shimBytes, mem: shimAddress, memsz: roundUp(shimCopy)),
            Segment(what: "bundle", bytes: bundle, mem: bundleAddress, memsz: roundUp(UInt64(bundle.count))),
            Segment(what: "device tree", bytes: blob, mem: treeAddress, memsz: roundUp(UInt64(blob.count))),
            Segment(what: "kexec entry", bytes: entry, mem: entryAddress, memsz: roundUp(UInt64(entry.count))),
        ]
        try BootPlan.validate(segments.map { BootPlan.Segment(mem: $0.mem, memsz: $0.memsz, bufsz: UInt64($0.bytes.count)) })
        return OFShimPlan(segments: segments, entry: entryAddress, tree: tree)
    }

    /// `/memory@0 reg`'s first range, cut at 4 GiB (every CI cell is 32 bits).
    static func ramBelow4G(_ tree: DeviceTree) throws -> (start: UInt64, end: UInt64) {
        let range = try tree.firstMemoryRange()
        return (range.start, min(range.end, 1 << 32))
    }

    static func roundUp(_ n: UInt64) -> UInt64 { (n + page - 1) & ~(page - 1) }

    /// The plan as `kexboot boot --dry-run` shows it.
    public func bootPlan(client: String, clientSize: UInt64, args: String) -> BootPlan {
        var plan = BootPlan(method: .segments, kernel: BootPlan.File(path: client, size: clientSize), initrds: [],
                            devicetree: nil, commandLine: args)
        plan.segments = segments.map { BootPlan.Segment(mem: $0.mem, memsz: $0.memsz, bufsz: UInt64($0.bytes.count)) }
        plan.entry = entry
        return plan
    }
}
