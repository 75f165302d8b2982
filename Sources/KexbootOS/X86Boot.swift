#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CKexboot
import KexbootCore

/// A range of physical memory as the firmware describes it, with its e820 type
/// (1 RAM, 2 reserved, 3 ACPI tables, 4 ACPI NVS, 5 unusable, 7 persistent memory).
public struct MemoryRange: Hashable, Sendable {
    public var start: UInt64
    /// One past the last byte.
    public var end: UInt64
    public var type: UInt32

    public init(start: UInt64, end: UInt64, type: UInt32) {
        self.start = start
        self.end = end
        self.type = type
    }

    /// A range given by its last byte, as sysfs and /proc/iomem give it (one ending at the
    /// very top of the address space ends at UInt64.max).
    public init(start: UInt64, last: UInt64, type: UInt32) {
        self.init(start: start, end: last == .max ? .max : last + 1, type: type)
    }

    public static let ram: UInt32 = 1
}

/// The machine's memory map as the firmware gave it to the running kernel: what the next
/// kernel must be told (kexec_file_load builds this itself; kexec_load leaves it to us).
public enum FirmwareMemoryMap {
    /// `/sys/firmware/memmap/N/{start,end,type}` (the firmware's own map, before the
    /// running kernel reserved anything), else the top-level lines of `/proc/iomem`.
    public static func read(memmap: String = "/sys/firmware/memmap", iomem: String = "/proc/iomem") throws -> [MemoryRange] {
        let files = DirectoryFileSource(root: "/")
        var ranges: [MemoryRange] = []
        if let names = files.list(memmap) {
            for name in names where Int(name) != nil {
                func field(_ f: String) -> String? {
                    (try? files.read(memmap + "/" + name + "/" + f, limit: 256)).map { String(decoding: $0, as: UTF8.self).trimmingBlanks() }
                }
                guard let start = field("start").flatMap(hex), let last = field("end").flatMap(hex), last >= start,
                      let type = field("type") else { continue }
                ranges.append(MemoryRange(start: start, last: last, type: e820Type(type)))
            }
        }
        if ranges.isEmpty {
            let text = String(decoding: try files.read(iomem, limit: 1 << 20), as: UTF8.self)
            ranges = parseIOMem(text)
        }
        // /proc/iomem reads as zeros to anyone but root.
        guard ranges.contains(where: { $0.type == MemoryRange.ram && $0.end - $0.start > X86BootLayout.pageSize }) else {
            throw KexbootError(.notFound, "no RAM in \(memmap) or \(iomem) (not root?)")
        }
        return merged(ranges.sorted { $0.start < $1.start })
    }

    /// Neighbouring ranges of one type as one (a firmware may list RAM in many pieces).
    public static func merged(_ sorted: [MemoryRange]) -> [MemoryRange] {
        var out: [MemoryRange] = []
        for r in sorted {
            if let last = out.last, last.type == r.type, last.end == r.start {
                out[out.count - 1].end = r.end
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The top-level (unindented) ranges of `/proc/iomem` that the firmware map knows.
    public static func parseIOMem(_ text: String) -> [MemoryRange] {
        var ranges: [MemoryRange] = []
        for line in text.split(separator: "\n") where line.first != " " {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let bounds = String(parts[0]).trimmingBlanks().split(separator: "-")
            guard bounds.count == 2, let start = hex(String(bounds[0])), let last = hex(String(bounds[1])), last >= start else { continue }
            let name = String(parts[1]).trimmingBlanks()
            let type = e820Type(name)
            // PCI windows and device regions are not memory.
            guard type != 2 || name == "Reserved" || name == "reserved" else { continue }
            ranges.append(MemoryRange(start: start, last: last, type: type))
        }
        return ranges
    }

    /// The e820 type of a range's name (as the kernel names them in sysfs and iomem).
    public static func e820Type(_ name: String) -> UInt32 {
        switch name {
        case "System RAM": 1
        case "ACPI Tables": 3
        case "ACPI Non-volatile Storage": 4
        case "Unusable memory": 5
        case "Persistent Memory": 7
        case "Persistent Memory (legacy)": 12
        case "Soft Reserved": 0xefff_ffff
        default: 2
        }
    }

    static func hex(_ text: String) -> UInt64? {
        UInt64(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: 16)
    }
}

/// A bzImage's setup header (Documentation/arch/x86/boot.rst), the part kexboot's own
/// `kexec_load` boot needs.
public struct X86SetupHeader: Hashable, Sendable {
    /// The header's bytes, from 0x1f1 to its end (0x202 + the jump's offset byte).
    public var bytes: [UInt8]
    /// Where the protected-mode kernel starts in the file.
    public var setupSize: UInt64
    public var version: UInt16
    public var relocatable: Bool
    public var kernelAlignment: UInt64
    public var xloadflags: UInt16
    public var initrdAddressMax: UInt64
    public var commandLineMax: Int
    public var preferredAddress: UInt64
    public var initSize: UInt64

    /// 64-bit entry point at the load address + 0x200.
    public static let kernel64: UInt16 = 1 << 0
    public static let initrdAbove4G: UInt16 = 1 << 1

    /// Reads the header from the file's first bytes (at least 0x270 of them).
    public init(_ head: [UInt8], fileSize: UInt64, path: String) throws {
        func le(_ offset: Int, _ count: Int) -> UInt64 {
            (0..<count).reduce(0) { $0 | UInt64(head[offset + $1]) << (8 * $1) }
        }
        guard head.count >= 0x270, le(0x202, 4) == 0x5372_6448 else {
            throw KexbootError(.invalidArgument, "\(path) is not a bzImage (no HdrS header)")
        }
        version = UInt16(le(0x206, 2))
        guard version >= 0x020c else {
            throw KexbootError(.unsupported, "\(path): boot protocol \(version >> 8).\(version & 0xff) is too old for a 64-bit entry (2.12 needed)")
        }
        let sectors = head[0x1f1] == 0 ? 4 : UInt64(head[0x1f1])
        setupSize = (sectors + 1) * 512
        guard setupSize < fileSize else { throw KexbootError(.invalidArgument, "\(path): the setup code (\(setupSize) bytes) fills the whole file") }
        let end = min(0x202 + Int(head[0x201]), 0x290, head.count)
        bytes = Array(head[0x1f1..<end])
        relocatable = head[0x234] != 0
        kernelAlignment = le(0x230, 4)
        xloadflags = UInt16(le(0x236, 2))
        initrdAddressMax = le(0x22c, 4)
        commandLineMax = Int(le(0x238, 4))
        preferredAddress = le(0x258, 8)
        initSize = le(0x260, 4)
        guard xloadflags & Self.kernel64 != 0 else { throw KexbootError(.unsupported, "\(path) has no 64-bit entry point") }
        guard relocatable else { throw KexbootError(.unsupported, "\(path) is not a relocatable kernel") }
        guard kernelAlignment != 0, kernelAlignment & (kernelAlignment - 1) == 0 else {
            throw KexbootError(.invalidArgument, "\(path): kernel alignment \(kernelAlignment) is not a power of two")
        }
    }
}

/// Where kexboot's `kexec_load` boot of a bzImage puts things, and what it writes: the
/// protected-mode kernel (with room for `init_size`), the initrd (as high as
/// `initrd_addr_max` allows), and one page each of boot_params and entry code followed by
/// the command line. The entry loads a GDT and jumps to the kernel's 64-bit entry with
/// %rsi at boot_params — no purgatory, so nothing is hashed twice.
public struct X86BootLayout: Hashable, Sendable {
    public var header: X86SetupHeader
    public var kernel: BootPlan.Segment
    public var initrd: BootPlan.Segment?
    /// boot_params, the entry page, then the command line.
    public var parameters: BootPlan.Segment
    public var memory: [MemoryRange]

    public var entry: UInt64 { parameters.mem + 4096 }
    public var bootParams: UInt64 { parameters.mem }
    public var commandLineAddress: UInt64 { parameters.mem + 8192 }
    public var segments: [BootPlan.Segment] { [kernel] + (initrd.map { [$0] } ?? []) + [parameters] }

    /// x86's page, whatever machine the layout is computed on (a dry run on ppc64le, whose
    /// kernel pages are 64 KiB, must still place a bzImage as an x86_64 kernel would).
    public static let pageSize: UInt64 = 4096

    /// The e820 table holds 128 entries in boot_params.
    public static let maxE820 = 128
    /// The 20-byte e820 entries past 128 go into a SETUP_E820_EXT setup_data block.
    static let setupE820Ext: UInt32 = 1
    static let lowest: UInt64 = 1 << 20
    static let below4G: UInt64 = 1 << 32

    public static func make(header: X86SetupHeader, kernelFileSize: UInt64, initrdSize: UInt64, commandLine: String,
                            memory: [MemoryRange]) throws -> X86BootLayout {
        let length = commandLine.utf8.count
        guard header.commandLineMax == 0 || length <= header.commandLineMax else {
            throw KexbootError(.limitExceeded, "the command line is \(length) bytes; this kernel takes at most \(header.commandLineMax)")
        }
        let page = pageSize
        // Up to a whole page; nil past the last page of the address space. The sizes come
        // from the bzImage's header and the addresses from the firmware's memory map
        // (/proc/iomem can end a range at 0xffffffffffffffff): `n + page - 1` would trap.
        func round(_ n: UInt64) -> UInt64? {
            let (sum, overflow) = n.addingReportingOverflow(page - 1)
            return overflow ? nil : sum / page * page
        }
        let table = memory
        // Free RAM, as [start, end) pieces, from which each placement is cut. A range
        // starting inside the last page of the address space holds no whole page.
        var free = table.filter { $0.type == MemoryRange.ram }.compactMap { r -> (UInt64, UInt64)? in
            guard let start = round(max(r.start, lowest)) else { return nil }
            let end = r.end / page * page
            return start < end ? (start, end) : nil
        }
        func take(_ start: UInt64, _ size: UInt64) {
            free = free.flatMap { piece -> [(UInt64, UInt64)] in
                guard start < piece.1, start + size > piece.0 else { return [piece] }
                return [(piece.0, start), (start + size, piece.1)].filter { $0.0 < $0.1 }
            }
        }
        /// The highest `align`-aligned place for `size` bytes below `limit`.
        func highest(_ size: UInt64, below limit: UInt64, align: UInt64 = page) -> UInt64? {
            var best: UInt64?
            for piece in free {
                let top = min(piece.1, limit)
                guard top >= size, top - size >= piece.0 else { continue }
                let start = (top - size) / align * align
                if start >= piece.0, best.map({ start > $0 }) ?? true { best = start }
            }
            return best
        }
        /// The lowest aligned place at or above `from`.
        func lowestFit(_ size: UInt64, from: UInt64, align: UInt64) -> UInt64? {
            for piece in free {
                let (bumped, over) = max(piece.0, from).addingReportingOverflow(align - 1)
                guard !over else { continue }
                let start = bumped / align * align
                if start < piece.1, size <= piece.1 - start { return start }
            }
            return nil
        }

        // The header was read from a file of this size (setup code < file); a different
        // size given here must not wrap around.
        guard header.setupSize < kernelFileSize else {
            throw KexbootError(.invalidArgument, "the setup code (\(header.setupSize) bytes) fills the whole kernel file (\(kernelFileSize) bytes)")
        }
        let payload = kernelFileSize - header.setupSize
        guard let kernelSize = round(max(header.initSize, payload)) else {
            throw KexbootError(.limitExceeded, "the kernel (\(payload) bytes) is larger than the address space")
        }
        let align = max(header.kernelAlignment, page)
        // The kernel decompresses itself at its preferred address whenever it is loaded
        // below it, over whatever is there: it goes at that address or above. A header
        // naming an address no machine has (or not aligned) gets the usual 16 MiB.
        let topOfRAM = free.map(\.1).max() ?? 0
        let named = header.preferredAddress
        let preferred = named != 0 && named % align == 0 && named < topOfRAM ? named : max(16 << 20, align)
        guard kernelSize < topOfRAM, let kernelAt = lowestFit(kernelSize, from: preferred, align: align) else {
            throw KexbootError(.limitExceeded, "no free RAM for the kernel (\(kernelSize) bytes at or above 0x\(String(preferred, radix: 16)))")
        }
        take(kernelAt, kernelSize)
        let kernel = BootPlan.Segment(mem: kernelAt, memsz: kernelSize, bufsz: payload)

        var initrd: BootPlan.Segment?
        if initrdSize > 0 {
            guard let size = round(initrdSize) else {
                throw KexbootError(.limitExceeded, "the initrd (\(initrdSize) bytes) is larger than the address space")
            }
            // initrd_addr_max is the last byte it may use; kernels that say so may have it above 4 GiB.
            var limit = header.initrdAddressMax == 0 ? 0x3800_0000 : header.initrdAddressMax + 1
            if header.xloadflags & X86SetupHeader.initrdAbove4G != 0 { limit = below4G }
            guard let at = highest(size, below: limit) ?? (header.xloadflags & X86SetupHeader.initrdAbove4G != 0 ? highest(size, below: .max) : nil) else {
                throw KexbootError(.limitExceeded, "no free RAM below 0x\(String(limit, radix: 16)) for the initrd (\(initrdSize) bytes)")
            }
            take(at, size)
            initrd = BootPlan.Segment(mem: at, memsz: size, bufsz: initrdSize)
        }

        // boot_params, the entry page, the command line and, past 128 e820 entries, a
        // SETUP_E820_EXT block (8-byte aligned) with the rest.
        let extra = max(0, table.count - maxE820)
        let parametersSize = extra == 0 ? 8192 + UInt64(length) + 1 : (8192 + UInt64(length) + 1 + 7) / 8 * 8 + 16 + UInt64(20 * extra)
        guard let parametersLength = round(parametersSize), let at = highest(parametersLength, below: below4G) else {
            throw KexbootError(.limitExceeded, "no free RAM below 4 GiB for boot_params")
        }
        take(at, parametersLength)
        return X86BootLayout(header: header, kernel: kernel, initrd: initrd,
                             parameters: BootPlan.Segment(mem: at, memsz: parametersLength, bufsz: parametersSize),
                             memory: table)
    }

    /// The parameters segment: boot_params (setup header, initrd, command line, e820
    /// table, ACPI RSDP, the screen), the entry page, the command line, and the e820
    /// entries past 128 as SETUP_E820_EXT. `screenInfo` is boot_params' first 64 bytes
    /// (struct screen_info), as the running kernel got them or `vgaTextScreen`.
    public func parametersBytes(commandLine: String, entryCode: [UInt8], acpiRSDP: UInt64?, screenInfo: [UInt8]?) throws -> [UInt8] {
        guard !entryCode.isEmpty, entryCode.count <= 4096 - 256 else {
            throw KexbootError(.unsupported, "kexboot has no kexec_load entry for this architecture")
        }
        var out = [UInt8](repeating: 0, count: Int(parameters.bufsz))
        func put(_ value: UInt64, at offset: Int, _ count: Int) {
            for i in 0..<count { out[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        if let screenInfo { out.replaceSubrange(0..<min(screenInfo.count, 0x40), with: screenInfo.prefix(0x40)) }
        if let acpiRSDP { put(acpiRSDP, at: 0x070, 8) }
        out.replaceSubrange(0x1f1..<(0x1f1 + header.bytes.count), with: header.bytes)
        // type_of_loader: kexec's ID (0xD0, what kexec_file_load sets too); loadflags:
        // loaded high, no heap, not quiet.
        put(0xd0, at: 0x210, 1)
        out[0x211] = (out[0x211] | 0x01) & ~UInt8(0x80 | 0x40 | 0x20)
        if let initrd {
            put(initrd.mem & 0xffff_ffff, at: 0x218, 4); put(initrd.mem >> 32, at: 0x0c0, 4)
            put(initrd.bufsz & 0xffff_ffff, at: 0x21c, 4); put(initrd.bufsz >> 32, at: 0x0c4, 4)
        }
        put(commandLineAddress & 0xffff_ffff, at: 0x228, 4); put(commandLineAddress >> 32, at: 0x0c8, 4)
        let ramAbove1M = memory.filter { $0.type == MemoryRange.ram && $0.end > X86BootLayout.lowest }.map(\.end).max() ?? 0
        put(min((ramAbove1M - min(ramAbove1M, X86BootLayout.lowest)) >> 10, 0xffff_ffff), at: 0x1e0, 4) // alt_mem_k
        put(UInt64(min(memory.count, Self.maxE820)), at: 0x1e8, 1)
        // The first 128 entries in boot_params; the rest in one setup_data block after
        // the command line (next = 0, type SETUP_E820_EXT, length, entries).
        let extra = (8192 + commandLine.utf8.count + 1 + 7) / 8 * 8
        for (i, r) in memory.enumerated() {
            let o = i < Self.maxE820 ? 0x2d0 + 20 * i : extra + 16 + 20 * (i - Self.maxE820)
            put(r.start, at: o, 8); put(r.end - r.start, at: o + 8, 8); put(UInt64(r.type), at: o + 16, 4)
        }
        if memory.count > Self.maxE820 {
            put(0, at: extra, 8)
            put(UInt64(Self.setupE820Ext), at: extra + 8, 4)
            put(UInt64(20 * (memory.count - Self.maxE820)), at: extra + 12, 4)
            put(parameters.mem + UInt64(extra), at: 0x250, 8)
        }
        // The entry page, its two slots filled.
        out.replaceSubrange(4096..<(4096 + entryCode.count), with: entryCode)
        put(bootParams, at: 4096 + Int(KX_X86_ENTRY_BOOT_PARAMS), 8)
        put(kernel.mem + 0x200, at: 4096 + Int(KX_X86_ENTRY_KERNEL), 8)
        out.replaceSubrange(8192..<(8192 + commandLine.utf8.count), with: Array(commandLine.utf8))
        return out
    }

    /// kexboot's x86_64 entry code (empty elsewhere).
    public static var entryCode: [UInt8] {
        var size: UInt = 0
        guard let p = kx_x86_entry(&size), size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: Int(size)))
    }

    /// The ACPI RSDP: the one an EFI machine's firmware named (`/sys/firmware/efi/systab`),
    /// else the one the running kernel's loader passed; otherwise the kernel scans low
    /// memory for it, as on any BIOS machine.
    public static func acpiRSDP(systab: String = "/sys/firmware/efi/systab", bootParams: [UInt8]? = runningBootParams()) -> UInt64? {
        if let bytes = try? DirectoryFileSource(root: "/").read(systab, limit: 4096) {
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
            for key in ["ACPI20=", "ACPI="] {
                if let line = lines.first(where: { $0.hasPrefix(key) }) {
                    return FirmwareMemoryMap.hex(String(line.dropFirst(key.count)))
                }
            }
        }
        guard let p = bootParams, p.count >= 0x78 else { return nil }
        let rsdp = (0..<8).reduce(UInt64(0)) { $0 | UInt64(p[0x70 + $1]) << (8 * UInt64($1)) }
        return rsdp == 0 ? nil : rsdp
    }

    /// The screen the next kernel is told about: the one the running kernel was told
    /// about (a VESA or EFI framebuffer, or VGA text), else, on a BIOS machine, an 80x25
    /// VGA text screen; nothing on an EFI machine whose screen is unknown.
    public static func screenInfo(bootParams: [UInt8]? = runningBootParams(), efi: Bool) -> [UInt8]? {
        if let p = bootParams, p.count >= 0x40, p[0..<0x40].contains(where: { $0 != 0 }) { return Array(p[0..<0x40]) }
        return efi ? nil : vgaTextScreen
    }

    /// screen_info for an 80x25 colour text screen, cursor on the last line.
    public static let vgaTextScreen: [UInt8] = {
        var s = [UInt8](repeating: 0, count: 0x40)
        s[0x01] = 24; s[0x06] = 3; s[0x07] = 80; s[0x0e] = 25; s[0x0f] = 1; s[0x10] = 16
        return s
    }()

    /// The boot_params the running kernel started with (`/sys/kernel/boot_params/data`, root only).
    public static func runningBootParams(path: String = "/sys/kernel/boot_params/data") -> [UInt8]? {
        guard let bytes = try? DirectoryFileSource(root: "/").read(path, limit: 4096), bytes.count >= 0x290 else { return nil }
        return bytes
    }
}
