import Foundation
import Testing
import KexbootCore
@testable import KexbootOS

/// kexboot's own x86_64 kexec_load boot: the setup header, where the pieces go, and the
/// boot_params page. (The real boot is the e2e test `test_kexec_load_without_purgatory`.)
@Suite struct X86BootTests {
    /// The first 4 KiB of a bzImage with the header fields the loader reads.
    static func bzImage(version: UInt16 = 0x020f, xloadflags: UInt16 = 0x7f, relocatable: Bool = true,
                        initSize: UInt32 = 0x0400_0000, setupSectors: UInt8 = 27, preferred: UInt64 = 0x100_0000,
                        alignment: UInt64 = 0x20_0000) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 4096)
        func put(_ v: UInt64, _ o: Int, _ n: Int) { for i in 0..<n { h[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        h[0x1f1] = setupSectors
        put(0xaa55, 0x1fe, 2)
        h[0x200] = 0xeb; h[0x201] = 0x6a // jump over a header that ends at 0x26c
        put(0x5372_6448, 0x202, 4)       // "HdrS"
        put(UInt64(version), 0x206, 2)
        h[0x211] = 0x01                  // LOADED_HIGH
        put(0x7fff_ffff, 0x22c, 4)       // initrd_addr_max
        put(alignment, 0x230, 4)         // kernel_alignment
        h[0x234] = relocatable ? 1 : 0
        put(UInt64(xloadflags), 0x236, 2)
        put(2048, 0x238, 4)              // cmdline_size
        put(preferred, 0x258, 8)         // pref_address
        put(UInt64(initSize), 0x260, 4)
        return h
    }

    /// QEMU's 1 GiB machine, as its BIOS reports it.
    static let qemu1G = [
        MemoryRange(start: 0, end: 0x9fc00, type: 1), MemoryRange(start: 0x9fc00, end: 0xa0000, type: 2),
        MemoryRange(start: 0xf0000, end: 0x10_0000, type: 2), MemoryRange(start: 0x10_0000, end: 0x3ffd_d000, type: 1),
        MemoryRange(start: 0x3ffd_d000, end: 0x4000_0000, type: 2), MemoryRange(start: 0xfffc_0000, end: 0x1_0000_0000, type: 2),
    ]

    static func le(_ b: [UInt8], _ o: Int, _ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }

    @Test func headerIsReadAsTheBootProtocolSays() throws {
        let h = try X86SetupHeader(Self.bzImage(), fileSize: 8_000_000, path: "vmlinuz")
        #expect(h.setupSize == 28 * 512)
        #expect(h.version == 0x020f && h.relocatable && h.kernelAlignment == 0x20_0000)
        #expect(h.initrdAddressMax == 0x7fff_ffff && h.commandLineMax == 2048 && h.preferredAddress == 0x100_0000)
        #expect(h.bytes.count == 0x26c - 0x1f1 && h.bytes.first == 27)
        // setup_sects 0 means 4.
        #expect(try X86SetupHeader(Self.bzImage(setupSectors: 0), fileSize: 8_000_000, path: "v").setupSize == 5 * 512)
    }

    @Test(arguments: [
        (bzImage(version: 0x020a), "too old"),
        (bzImage(xloadflags: 0), "no 64-bit entry"),
        (bzImage(relocatable: false), "not a relocatable"),
        ([UInt8](repeating: 0, count: 4096), "not a bzImage"),
        (Array(bzImage().prefix(0x240)), "not a bzImage"),
    ])
    func kernelsItCannotStartAreRefused(head: [UInt8], message: String) {
        #expect { _ = try X86SetupHeader(head, fileSize: 8_000_000, path: "vmlinuz") } throws: {
            ($0 as? KexbootError)?.message.contains(message) == true
        }
    }

    @Test func piecesGoWhereTheKernelCanUseThem() throws {
        let header = try X86SetupHeader(Self.bzImage(), fileSize: 8_000_000, path: "vmlinuz")
        let layout = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 30_000_000,
                                            commandLine: "console=ttyS0", memory: Self.qemu1G)
        // The kernel at its preferred address with init_size of room; the initrd as high as
        // RAM goes; boot_params just below it; nothing overlapping, all page-aligned.
        #expect(layout.kernel.mem == 0x100_0000 && layout.kernel.memsz == 0x400_0000 && layout.kernel.bufsz == 8_000_000 - 28 * 512)
        let initrd = try #require(layout.initrd)
        #expect(initrd.mem + initrd.memsz == 0x3ffd_d000 && initrd.bufsz == 30_000_000)
        #expect(layout.parameters.mem + layout.parameters.memsz == initrd.mem)
        #expect(layout.entry == layout.parameters.mem + 4096)
        try BootPlan.validate(layout.segments, pageSize: X86BootLayout.pageSize)
        for s in layout.segments {
            #expect(Self.qemu1G.contains { $0.type == 1 && $0.start <= s.mem && s.mem + s.memsz <= $0.end })
        }
    }

    @Test func aSmallMachineStillFitsAndABigInitrdDoesNot() throws {
        let header = try X86SetupHeader(Self.bzImage(), fileSize: 8_000_000, path: "vmlinuz")
        // RAM that starts above the preferred address: the kernel goes to the next 2 MiB boundary.
        let odd = [MemoryRange(start: 0x10_0000, end: 0x80_0000, type: 1), MemoryRange(start: 0x110_1000, end: 0x1000_0000, type: 1)]
        let layout = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 1000, commandLine: "", memory: odd)
        #expect(layout.kernel.mem == 0x120_0000)
        // Never below the preferred address: the kernel would decompress over what lies there.
        let low = [MemoryRange(start: 0x10_0000, end: 0x0f0_0000, type: 1), MemoryRange(start: 0x100_0000, end: 0x200_0000, type: 1),
                   MemoryRange(start: 0x200_0000, end: 0x600_0000, type: 2)]
        #expect { _ = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 0, commandLine: "", memory: low) } throws: {
            ($0 as? KexbootError)?.message.contains("at or above 0x1000000") == true
        }
        #expect(throws: KexbootError.self) {
            _ = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 0x3b00_0000, commandLine: "", memory: Self.qemu1G)
        }
        #expect { _ = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 0, commandLine: String(repeating: "x", count: 2049), memory: Self.qemu1G) } throws: {
            ($0 as? KexbootError)?.message.contains("at most 2048") == true
        }
    }

    /// A header is data from a disk or a server: absurd addresses and alignments must give
    /// a layout or an error, never a trap.
    @Test(arguments: [UInt64(0xffff_ffff_ffff_f000), 0xffff_ffff_ffe0_0000, 0x8000_0000_0000_0000, 0x3ffd_c000, 0x1234])
    func absurdPreferredAddressesFallBackTo16MiB(preferred: UInt64) throws {
        for alignment: UInt64 in [0x1000, 0x20_0000, 0x4000_0000, 0x8000_0000] {
            let header = try X86SetupHeader(Self.bzImage(preferred: preferred, alignment: alignment), fileSize: 8_000_000, path: "v")
            do {
                let layout = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 1 << 20, commandLine: "", memory: Self.qemu1G)
                #expect(layout.kernel.mem % alignment == 0 && layout.kernel.mem + layout.kernel.memsz <= 0x3ffd_d000)
                try BootPlan.validate(layout.segments, pageSize: X86BootLayout.pageSize)
            } catch let error as KexbootError {
                #expect(error.code == .limitExceeded, "\(error)")
            }
        }
    }

    /// Sizes and addresses that round up past the top of the address space: a RAM range
    /// in the last page (as /proc/iomem may list one), an initrd or kernel file size no
    /// machine has, and a file shorter than its header's setup code. Each is left out or
    /// refused with an error, never a trap in the page rounding.
    @Test func sizesAtTheTopOfTheAddressSpaceAreErrorsNotTraps() throws {
        let header = try X86SetupHeader(Self.bzImage(), fileSize: 8_000_000, path: "vmlinuz")
        let top = FirmwareMemoryMap.parseIOMem("ffffffffffff8000-ffffffffffffffff : System RAM\nfffffffffffff001-ffffffffffffffff : System RAM\n")
        #expect(top.count == 2)
        let layout = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 1 << 20, commandLine: "quiet",
                                            memory: Self.qemu1G + top)
        #expect(layout.kernel.mem + layout.kernel.memsz <= 0x3ffd_d000 && layout.parameters.mem < 0x3ffd_d000)
        #expect { _ = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: .max - 1, commandLine: "", memory: Self.qemu1G) } throws: {
            ($0 as? KexbootError)?.code == .limitExceeded
        }
        #expect { _ = try X86BootLayout.make(header: header, kernelFileSize: .max - 2, initrdSize: 0, commandLine: "", memory: Self.qemu1G) } throws: {
            ($0 as? KexbootError)?.code == .limitExceeded
        }
        #expect { _ = try X86BootLayout.make(header: header, kernelFileSize: 100, initrdSize: 0, commandLine: "", memory: Self.qemu1G) } throws: {
            ($0 as? KexbootError)?.message.contains("setup code") == true
        }
    }

    @Test func memoryMapsPast128EntriesGoOnInSetupData() throws {
        // 200 alternating 1 MiB ranges of RAM and reserved memory above 1 GiB.
        var map = Self.qemu1G.filter { $0.end <= 0x4000_0000 }
        for i in 0..<UInt64(200) { map.append(MemoryRange(start: 0x1_0000_0000 + i << 20, end: 0x1_0010_0000 + i << 20, type: i % 2 == 0 ? 1 : 2)) }
        let header = try X86SetupHeader(Self.bzImage(), fileSize: 8_000_000, path: "vmlinuz")
        let layout = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 0, commandLine: "quiet", memory: map)
        let p = try layout.parametersBytes(commandLine: "quiet", entryCode: X86BootLayout.entryCode, acpiRSDP: nil, screenInfo: nil)
        #expect(p[0x1e8] == 128)
        let setupData = Self.le(p, 0x250, 8)
        let offset = Int(setupData - layout.parameters.mem)
        #expect(offset % 8 == 0 && offset >= 8192 + 6)
        #expect(Self.le(p, offset, 8) == 0 && Self.le(p, offset + 8, 4) == 1 && Int(Self.le(p, offset + 12, 4)) == 20 * (map.count - 128))
        #expect(p.count == offset + 16 + 20 * (map.count - 128))
        let lastEntry = p.count - 20
        #expect(Self.le(p, lastEntry, 8) == map.last!.start && Self.le(p, lastEntry + 16, 4) == 2)
        // Neighbours of one type are one range.
        #expect(FirmwareMemoryMap.merged([MemoryRange(start: 0, end: 10, type: 1), MemoryRange(start: 10, end: 20, type: 1), MemoryRange(start: 20, end: 30, type: 2)])
                == [MemoryRange(start: 0, end: 20, type: 1), MemoryRange(start: 20, end: 30, type: 2)])
    }

    @Test func bootParamsCarryTheHeaderInitrdCommandLineAndMemoryMap() throws {
        let head = Self.bzImage()
        let header = try X86SetupHeader(head, fileSize: 8_000_000, path: "vmlinuz")
        let cmdline = "root=/dev/vda1 console=ttyS0 ✓"
        let layout = try X86BootLayout.make(header: header, kernelFileSize: 8_000_000, initrdSize: 123_456, commandLine: cmdline, memory: Self.qemu1G)
        let entry = X86BootLayout.entryCode
        try #require(!entry.isEmpty, "no entry code for x86_64")
        let p = try layout.parametersBytes(commandLine: cmdline, entryCode: entry, acpiRSDP: 0xf5a40,
                                           screenInfo: X86BootLayout.screenInfo(bootParams: nil, efi: false))
        #expect(p.count == 8192 + cmdline.utf8.count + 1 && p.last == 0)
        // The setup header, with kexboot's loader type and flags.
        #expect(p[0x202..<0x206].elementsEqual("HdrS".utf8) && Self.le(p, 0x206, 2) == 0x020f)
        #expect(p[0x210] == 0xd0 && p[0x211] & 0x01 == 1 && p[0x211] & 0x80 == 0 && Self.le(p, 0x250, 8) == 0)
        let initrd = try #require(layout.initrd)
        #expect(Self.le(p, 0x218, 4) == initrd.mem && Self.le(p, 0x21c, 4) == 123_456 && Self.le(p, 0x0c0, 4) == 0)
        #expect(Self.le(p, 0x228, 4) == layout.parameters.mem + 8192)
        #expect(Array(p[8192..<(8192 + cmdline.utf8.count)]) == Array(cmdline.utf8))
        #expect(Self.le(p, 0x070, 8) == 0xf5a40)
        #expect(p[0x07] == 80 && p[0x0e] == 25 && p[0x0f] == 1)
        // The e820 table, entry by entry.
        #expect(Int(p[0x1e8]) == Self.qemu1G.count)
        for (i, r) in Self.qemu1G.enumerated() {
            let o = 0x2d0 + 20 * i
            #expect(Self.le(p, o, 8) == r.start && Self.le(p, o + 8, 8) == r.end - r.start && Self.le(p, o + 16, 4) == UInt64(r.type))
        }
        // The entry page: the code, its slots filled with boot_params and the 64-bit entry.
        #expect(Array(p[4096..<(4096 + 8)]) == Array(entry.prefix(8)))
        #expect(Self.le(p, 4096 + 8, 8) == layout.parameters.mem)
        #expect(Self.le(p, 4096 + 16, 8) == layout.kernel.mem + 0x200)
        // The flat GDT the code loads: null, null, 64-bit code at 0x10, data at 0x18.
        #expect(Self.le(p, 4096 + 24 + 16, 8) == 0x00af_9a00_0000_ffff && Self.le(p, 4096 + 24 + 24, 8) == 0x00cf_9200_0000_ffff)
        // On EFI machines there is no VGA text screen to describe; a screen the running
        // kernel was told about (here a VESA framebuffer, type 0x23) is passed on as it was.
        #expect(X86BootLayout.screenInfo(bootParams: nil, efi: true) == nil)
        var running = [UInt8](repeating: 0, count: 0x290)
        running[0x0f] = 0x23; running[0x12] = 0x20; running[0x70] = 0x40; running[0x71] = 0x5a; running[0x72] = 0x0f
        #expect(X86BootLayout.screenInfo(bootParams: running, efi: true) == Array(running[0..<0x40]))
        #expect(X86BootLayout.acpiRSDP(systab: "/nonexistent", bootParams: running) == 0xf5a40)
        #expect(X86BootLayout.acpiRSDP(systab: "/nonexistent", bootParams: [UInt8](repeating: 0, count: 0x290)) == nil)
        let efi = try layout.parametersBytes(commandLine: cmdline, entryCode: entry, acpiRSDP: nil, screenInfo: nil)
        #expect(efi[0..<0x40].allSatisfy { $0 == 0 } && Self.le(efi, 0x070, 8) == 0)
    }

    @Test func memoryMapsFromSysfsAndIOMem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kx-memmap-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let entries = [("0x0", "0x9fbff", "System RAM"), ("0x100000", "0x3ffdcfff", "System RAM"),
                       ("0x3ffdd000", "0x3fffffff", "Reserved"), ("0xfed00000", "0xfed003ff", "ACPI Non-volatile Storage")]
        for (i, e) in entries.enumerated().reversed() {
            try FileManager.default.createDirectory(atPath: "\(dir)/memmap/\(i)", withIntermediateDirectories: true)
            try (e.0 + "\n").write(toFile: "\(dir)/memmap/\(i)/start", atomically: true, encoding: .utf8)
            try (e.1 + "\n").write(toFile: "\(dir)/memmap/\(i)/end", atomically: true, encoding: .utf8)
            try (e.2 + "\n").write(toFile: "\(dir)/memmap/\(i)/type", atomically: true, encoding: .utf8)
        }
        let map = try FirmwareMemoryMap.read(memmap: dir + "/memmap", iomem: dir + "/none")
        #expect(map == [MemoryRange(start: 0, end: 0x9fc00, type: 1), MemoryRange(start: 0x10_0000, end: 0x3ffd_d000, type: 1),
                        MemoryRange(start: 0x3ffd_d000, end: 0x4000_0000, type: 2), MemoryRange(start: 0xfed0_0000, end: 0xfed0_0400, type: 4)])
        // /proc/iomem: top-level memory lines only (PCI windows and devices are not memory).
        let iomem = """
            00000000-00000fff : Reserved
            00001000-0009fbff : System RAM
            000a0000-000bffff : PCI Bus 0000:00
            00100000-3ffdcfff : System RAM
              01000000-01e00000 : Kernel code
            3ffdd000-3fffffff : Reserved
            fee00000-fee00fff : Local APIC
            """
        try iomem.write(toFile: dir + "/iomem", atomically: true, encoding: .utf8)
        #expect(try FirmwareMemoryMap.read(memmap: dir + "/none", iomem: dir + "/iomem") == [
            MemoryRange(start: 0, end: 0x1000, type: 2), MemoryRange(start: 0x1000, end: 0x9fc00, type: 1),
            MemoryRange(start: 0x10_0000, end: 0x3ffd_d000, type: 1), MemoryRange(start: 0x3ffd_d000, end: 0x4000_0000, type: 2),
        ])
        try "".write(toFile: dir + "/empty", atomically: true, encoding: .utf8)
        #expect(throws: KexbootError.self) { _ = try FirmwareMemoryMap.read(memmap: dir + "/none", iomem: dir + "/empty") }
        // What a user who is not root reads: every address zero.
        try "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n".write(toFile: dir + "/zeros", atomically: true, encoding: .utf8)
        #expect { _ = try FirmwareMemoryMap.read(memmap: dir + "/none", iomem: dir + "/zeros") } throws: {
            ($0 as? KexbootError)?.message.contains("not root?") == true
        }
        // A range that ends at the very top of the address space.
        #expect(FirmwareMemoryMap.parseIOMem("fd00000000-ffffffffffffffff : Reserved\n") == [MemoryRange(start: 0xfd_0000_0000, end: .max, type: 2)])
    }

    @Test func loadPlansForOtherKernelsSayWhy() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kx-x86plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var kernel = Self.bzImage()
        kernel += [UInt8](repeating: 0x90, count: 100_000)
        try Data(kernel).write(to: URL(fileURLWithPath: dir + "/vmlinuz"))
        try Data([0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0, count: 100)).write(to: URL(fileURLWithPath: dir + "/vmlinux"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/initrd"))
        let plan = try Kexec.plan(kernel: dir + "/vmlinuz", initrds: [dir + "/initrd", dir + "/initrd"], devicetree: nil,
                                  commandLine: "quiet", syscall: .load, memory: Self.qemu1G)
        #expect(plan.method == .segments && plan.segments.count == 3 && plan.entry == plan.x86?.entry && !plan.fallback)
        #expect(plan.x86?.initrd?.bufsz == 6)
        let auto = try Kexec.plan(kernel: dir + "/vmlinuz", initrds: [], devicetree: nil, commandLine: "", memory: Self.qemu1G)
        #expect(auto.method == .fileLoad && auto.fallback && auto.segments.isEmpty)
        #expect { _ = try Kexec.plan(kernel: dir + "/vmlinux", initrds: [], devicetree: nil, commandLine: "", syscall: .load, memory: Self.qemu1G) } throws: {
            ($0 as? KexbootError)?.message.contains("takes an x86_64 bzImage") == true
        }
    }
}
