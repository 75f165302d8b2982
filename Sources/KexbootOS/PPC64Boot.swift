#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore

/// kexboot's own `kexec_load` boot of a 64-bit PowerPC Linux kernel (a `vmlinux` ELF), for
/// kernels built without `kexec_file_load` (Debian's ppc64el 6.1 among them). No purgatory:
///
/// - the kernel's PT_LOADs, in their ELF layout, at the first page above the running
///   kernel's end (Linux refuses segments below it; the new kernel is relocatable and
///   copies itself to physical 0 before it runs there);
/// - the initrds (one after the other), the device tree (the running machine's, from
///   `/sys/firmware/fdt`, with `/chosen bootargs` and `linux,initrd-start/-end` rewritten
///   and its reserve map kept) and a one-page entry, high in `/memory@0` (the real mode
///   area, which early boot reads with the MMU off), clear of the reserve map and of the
///   memory the new kernel occupies once it has moved to 0;
/// - the entry: Linux's `kexec_sequence` copies the entry's first 0x100 bytes to physical 0,
///   releases the other CPUs to 0x60 there, and calls the entry with r3 = its CPU number.
///   Bytes 4–0xff are the kernel's own (its secondary-CPU hold code, which the kernel
///   expects at 0: it copies itself from 0x100 on). Word 0 branches to the code at 0x100,
///   which writes r3 into the tree's `boot_cpuid_phys` and enters the kernel with r3 = the
///   tree, r4 = the kernel's address, r5 = 0 (no client interface), as kexec-tools'
///   purgatory does. `Tests/ppc64le/entry.S` is its source; a test assembles it and
///   compares.
///
/// Every segment starts and ends on the running kernel's page size (64 KiB on Debian's,
/// Fedora's and RHEL's ppc64el kernels).
public struct PPC64BootLayout: Hashable, Sendable {
    /// A PT_LOAD: where it is in the file, its offset from the kernel's start, its bytes.
    public struct Piece: Hashable, Sendable {
        public var fileOffset: UInt64
        public var at: UInt64
        public var size: UInt64

        init(_ t: (UInt64, UInt64, UInt64)) { (fileOffset, at, size) = t }
    }

    /// The whole kernel, its PT_LOADs at their offsets from the first; its address is r4
    /// at entry.
    public var kernel: BootPlan.Segment
    public var kernelFileOffset: UInt64
    /// Whether the file holds the PT_LOADs as memory does (one read from the mapping).
    public var kernelInFileOrder: Bool
    public var kernelLoads: [Piece]
    public var initrd: BootPlan.Segment?
    public var tree: BootPlan.Segment
    public var treeBlob: [UInt8]
    public var entryPage: BootPlan.Segment
    public var entryCode: [UInt8]

    public var entry: UInt64 { entryPage.mem }
    public var segments: [BootPlan.Segment] { [kernel, initrd, tree, entryPage].compactMap { $0 } }

    /// The entry's code at 0x100, little endian (Tests/ppc64le/entry.S), then the tree's
    /// and the kernel's addresses at 0x128 and 0x130.
    static let entryWords: [UInt32] = [
        0x429F_0005,  // bcl 20,31,$+4
        0x7D28_02A6,  // mflr r9            (r9 = entry + 0x104)
        0xE949_0024,  // ld r10,0x24(r9)    (the tree, at 0x128)
        0xE889_002C,  // ld r4,0x2c(r9)     (the kernel, at 0x130)
        0x3960_001C,  // li r11,28
        0x7C6A_5D2C,  // stwbrx r3,r10,r11  (boot_cpuid_phys, big endian)
        0x7D43_5378,  // mr r3,r10
        0x38A0_0000,  // li r5,0
        0x7C89_03A6,  // mtctr r4
        0x4E80_0420,  // bctr
    ]
    static let entryBranch: UInt32 = 0x4800_0100  // b .+0x100
    static let entrySlots = 0x128
    /// The most kexboot assembles in memory for a kernel whose file is out of order.
    static let maxAssembled: UInt64 = 256 << 20

    /// The entry page's bytes: word 0, the kernel's bytes 4–0xff, the code, the addresses.
    static func entryBytes(kernelHead: [UInt8], tree: UInt64, kernel: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: entrySlots + 16)
        func le32(_ v: UInt32, at o: Int) { for i in 0..<4 { out[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        func le64(_ v: UInt64, at o: Int) { for i in 0..<8 { out[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        le32(entryBranch, at: 0)
        for i in 4..<min(0x100, kernelHead.count) { out[i] = kernelHead[i] }
        for (i, w) in entryWords.enumerated() { le32(w, at: 0x100 + 4 * i) }
        le64(tree, at: entrySlots)
        le64(kernel, at: entrySlots + 8)
        return out
    }

    /// - Parameters:
    ///   - elf: the kernel's headers (a little-endian ppc64 ELF).
    ///   - kernelHead: the first 0x100 bytes of its lowest PT_LOAD.
    ///   - tree: the running machine's device tree.
    ///   - runningKernelEnd: `/proc/device-tree/chosen/linux,kernel-end`.
    public static func make(elf: ELFFile, kernelHead: [UInt8], initrdSize: UInt64, commandLine: String,
                            tree original: DeviceTree, runningKernelEnd: UInt64,
                            pageSize: UInt64 = BootPlan.pageSize) throws -> PPC64BootLayout {
        guard elf.machine == 21, elf.elfClass == 64 else {
            throw KexbootError(.unsupported, "not a 64-bit PowerPC kernel (ELF machine \(elf.machine), class \(elf.elfClass))")
        }
        guard elf.endian == .little else {
            throw KexbootError(.unsupported, "a big-endian ppc64 kernel; kexboot's kexec_load boot enters little-endian ones")
        }
        let loads = elf.segments.filter { $0.type == ELFFile.Segment.load && $0.memsz > 0 }
        guard let low = loads.map(\.paddr).min(), let high = loads.map({ $0.paddr &+ $0.memsz }).max(), high > low,
              loads.allSatisfy({ $0.filesz <= $0.memsz && $0.paddr <= UInt64.max - $0.memsz }) else {
            throw KexbootError(.invalidArgument, "the kernel has no loadable segments")
        }
        let span = high - low
        guard span <= 1 << 30 else { throw KexbootError(.invalidArgument, "the kernel spans \(span >> 20) MiB") }
        let first = loads.min { $0.paddr < $1.paddr }!
        guard first.filesz >= 0x100, kernelHead.count >= 0x100 else {
            throw KexbootError(.invalidArgument, "the kernel's first segment is shorter than 256 bytes")
        }
        // Entered at its first byte (0xc000000000000000 on vmlinux), as kexec-tools does.
        guard elf.entry == first.vaddr else {
            throw KexbootError(.unsupported, "the kernel's entry (0x\(String(elf.entry, radix: 16))) is not the start of its first segment")
        }
        let mask = pageSize - 1
        func up(_ n: UInt64) throws -> UInt64 {
            guard n <= UInt64.max - mask else { throw KexbootError(.invalidArgument, "0x\(String(n, radix: 16)) lies at the top of the address space") }
            return (n + mask) & ~mask
        }

        let ram = try original.firstMemoryRange()
        var tree = original
        guard tree.reservations.allSatisfy({ $0.address <= UInt64.max - $0.size }) else {
            throw KexbootError(.invalidArgument, "the device tree's reserve map has a range that wraps around")
        }
        let old = original.node("/chosen").flatMap { chosen -> (UInt64, UInt64)? in
            guard let s = chosen.property("linux,initrd-start").flatMap(DeviceTree.number),
                  let e = chosen.property("linux,initrd-end").flatMap(DeviceTree.number), e > s, e <= UInt64.max - mask else { return nil }
            return (s, e)
        }
        // The running kernel's initramfs was freed once it was unpacked: its reservation goes
        // (prom_init reserved it rounded out to whole pages).
        if let old {
            tree.reservations.removeAll {
                $0.address <= old.0 && $0.address + $0.size >= old.1
                    && $0.address >= old.0 & ~mask && $0.address + $0.size <= (old.1 + mask) & ~mask
            }
        }
        // Reservations as they meet /memory@0.
        let reserved = tree.reservations.filter { $0.size > 0 && $0.address < ram.end && $0.address + $0.size > ram.start }
            .map { (max($0.address, ram.start), min($0.address + $0.size, ram.end)) }
        // The kernel goes to the first page above the running kernel's end that no
        // reservation (RTAS, the running tree) overlaps; below the new kernel's span nothing
        // else may stay (it moves itself to 0 first thing).
        let length = try up(span)
        var base = try up(max(runningKernelEnd, ram.start))
        while base <= ram.end, base <= UInt64.max - length, let clash = reserved.first(where: { $0.0 < base + length && base < $0.1 }) { base = try up(clash.1) }
        guard base <= ram.end, length <= ram.end - base else {
            throw KexbootError(.limitExceeded, "no room in /memory@0 (\(ram.end >> 20) MiB) for the kernel (\(span >> 20) MiB) above the running one")
        }
        var busy: [(UInt64, UInt64)] = [(0, max(base + length, length))] + reserved
        var top = ram.end & ~mask
        func place(_ size: UInt64, _ what: String) throws -> BootPlan.Segment {
            let length = try up(max(size, 1))
            while true {
                guard top >= ram.start, top - ram.start >= length else {
                    throw KexbootError(.limitExceeded, "no room in /memory@0 (\(ram.end >> 20) MiB) for the \(what) (\(size) bytes) above the kernel")
                }
                let start = (top - length) & ~mask
                if let clash = busy.first(where: { $0.0 < start + length && start < $0.1 }) {
                    top = clash.0 & ~mask
                    continue
                }
                busy.append((start, start + length))
                top = start
                return BootPlan.Segment(mem: start, memsz: length, bufsz: size)
            }
        }
        let initrd = initrdSize > 0 ? try place(initrdSize, "initrd") : nil
        let entryPage = try place(UInt64(entrySlots + 16), "kexec entry")

        if tree.node("/chosen") == nil { tree.root.children.append(DeviceTree.Node(name: "chosen")) }
        tree.edit("/chosen") {
            $0.remove("linux,initrd-start")
            $0.remove("linux,initrd-end")
            if let initrd {
                $0.set("linux,initrd-start", DeviceTree.u64(initrd.mem))
                $0.set("linux,initrd-end", DeviceTree.u64(initrd.mem + initrdSize))
            }
            $0.set("bootargs", DeviceTree.string(commandLine))
        }
        let blob = tree.serialized()
        let treeSegment = try place(UInt64(blob.count), "device tree")

        // One segment from the lowest PT_LOAD to the end of the highest, each at its offset
        // from the first. vmlinux's file holds them that way (read straight from a mapping);
        // otherwise the image is assembled in memory first.
        let inFileOrder = loads.allSatisfy { $0.offset >= first.offset && $0.offset - first.offset == $0.paddr - low }
        let fileBytes = loads.map { $0.paddr - low + $0.filesz }.max() ?? 0
        // Out of file order the image is put together in memory: never for more than it holds.
        guard inFileOrder || fileBytes <= maxAssembled else {
            throw KexbootError(.invalidArgument, "the kernel's PT_LOADs are out of file order and span \(fileBytes >> 20) MiB")
        }
        let kernelSegment = BootPlan.Segment(mem: base, memsz: length, bufsz: fileBytes)
        let layout = PPC64BootLayout(kernel: kernelSegment, kernelFileOffset: first.offset, kernelInFileOrder: inFileOrder,
                                     kernelLoads: loads.map { ($0.offset, $0.paddr - low, $0.filesz) }.map(Piece.init),
                                     initrd: initrd, tree: treeSegment, treeBlob: blob, entryPage: entryPage,
                                     entryCode: entryBytes(kernelHead: kernelHead, tree: treeSegment.mem, kernel: base))
        try BootPlan.validate(layout.segments, pageSize: pageSize)
        return layout
    }

    /// `/proc/device-tree/chosen/linux,kernel-end`: where the running kernel ends (powerpc
    /// exports it for kexec loaders).
    public static func runningKernelEnd(path: String = "/proc/device-tree/chosen/linux,kernel-end") throws -> UInt64 {
        let bytes = try ReadOnlyFile.contents(of: path, what: "the running kernel's end")
        guard let end = DeviceTree.number(bytes) else {
            throw KexbootError(.invalidArgument, "\(path): \(bytes.count) bytes, not a 4- or 8-byte number")
        }
        return end
    }
}
