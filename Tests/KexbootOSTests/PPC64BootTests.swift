import Foundation
import Testing
import KexbootCore
import KexbootTestSupport
@testable import KexbootOS

/// kexboot's own ppc64 kexec_load boot: where the pieces go, the edited device tree, and
/// the entry. (The real boot is the pseries test in Tests/ppc64le/pseries.py.)
@Suite struct PPC64BootTests {
    static let page: UInt64 = 0x10000

    /// A little-endian ELF64 with PT_LOADs (paddr, offset, filesz, memsz); each segment's
    /// file bytes are a counter, so a test can tell which bytes went where.
    static func vmlinux(_ loads: [(paddr: UInt64, offset: UInt64, filesz: UInt64, memsz: UInt64)], machine: UInt16 = 21,
                        bigEndian: Bool = false) -> [UInt8] {
        let end = loads.map { $0.offset + $0.filesz }.max() ?? 0
        var e = [UInt8](repeating: 0, count: Int(max(end, 0x1000)))
        func put(_ v: UInt64, _ o: Int, _ n: Int) {
            for i in 0..<n {
                e[o + (bigEndian ? n - 1 - i : i)] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))
            }
        }
        e[0] = 0x7f; e[1] = 0x45; e[2] = 0x4c; e[3] = 0x46
        e[4] = 2; e[5] = bigEndian ? 2 : 1; e[6] = 1
        put(2, 16, 2); put(UInt64(machine), 18, 2); put(1, 20, 4)
        put(0xc000_0000_0000_0000, 24, 8)  // e_entry
        put(64, 32, 8)                      // e_phoff
        put(64, 52, 2); put(56, 54, 2); put(UInt64(loads.count), 56, 2)
        for (i, l) in loads.enumerated() {
            let o = 64 + 56 * i
            put(1, o, 4); put(7, o + 4, 4); put(l.offset, o + 8, 8)
            put(0xc000_0000_0000_0000 + l.paddr, o + 16, 8); put(l.paddr, o + 24, 8)
            put(l.filesz, o + 32, 8); put(l.memsz, o + 40, 8); put(0x10000, o + 48, 8)
            for k in 0..<Int(l.filesz) where Int(l.offset) + k >= 0x200 { e[Int(l.offset) + k] = UInt8(truncatingIfNeeded: k &+ i) }
        }
        return e
    }

    /// A pseries-like tree: 1 GiB at /memory@0, RTAS reserved at its top, and the running
    /// kernel's initrd and tree in the reserve map and /chosen.
    static func tree(memory: UInt64 = 1 << 30) -> DeviceTree {
        var t = DeviceTree(root: DeviceTree.Node(name: "", properties: [
            .init(name: "#address-cells", value: DeviceTree.cells([2])), .init(name: "#size-cells", value: DeviceTree.cells([2])),
        ]))
        t.root.children = [
            DeviceTree.Node(name: "chosen", properties: [
                .init(name: "bootargs", value: DeviceTree.string("old")),
                .init(name: "linux,initrd-start", value: DeviceTree.u64(0x0300_0000)),
                .init(name: "linux,initrd-end", value: DeviceTree.u64(0x0380_0000)),
            ]),
            DeviceTree.Node(name: "memory@0", properties: [
                .init(name: "device_type", value: DeviceTree.string("memory")),
                .init(name: "reg", value: DeviceTree.u64(0) + DeviceTree.u64(memory)),
            ]),
        ]
        t.reservations = [(0x0300_0000, 0x80_0000), (0x0281_0000, 0x4_0000), (memory - 0x1_0000, 0x1_0000)]
        return t
    }

    static let loads: [(paddr: UInt64, offset: UInt64, filesz: UInt64, memsz: UInt64)] =
        [(0, 0x10000, 0x18_0000, 0x18_0000), (0x18_0000, 0x19_0000, 0x4_0000, 0x20_0000)]

    static func make(_ bytes: [UInt8], initrd: UInt64 = 0x12_3456, memory: UInt64 = 1 << 30, kernelEnd: UInt64 = 0x0280_1234,
                     tree: DeviceTree? = nil) throws -> PPC64BootLayout {
        let elf = try ELFFile(bytes: bytes)
        let first = elf.segments.filter { $0.type == 1 }.min { $0.paddr < $1.paddr }!
        let head = Array(bytes[Int(first.offset)..<Int(first.offset) + 0x100])
        return try PPC64BootLayout.make(elf: elf, kernelHead: head, initrdSize: initrd, commandLine: "root=/dev/sda2 quiet \"a b\"",
                                        tree: tree ?? Self.tree(memory: memory), runningKernelEnd: kernelEnd, pageSize: page)
    }

    @Test func placesEverythingOnPagesClearOfTheKernelsAndTheReservations() throws {
        let layout = try Self.make(Self.vmlinux(Self.loads))
        let span: UInt64 = 0x38_0000
        for s in layout.segments {
            #expect(s.mem % Self.page == 0 && s.memsz % Self.page == 0, "segment at \(s.mem) not on 64 KiB")
            #expect(s.mem + s.memsz <= 1 << 30)
        }
        // Above the running kernel's end and past the running tree's reservation right after it.
        #expect(layout.kernel.mem == 0x0285_0000)
        #expect(layout.kernel.memsz == span)
        #expect(layout.kernel.bufsz == 0x18_0000 + 0x4_0000)
        #expect(layout.kernelInFileOrder && layout.kernelFileOffset == 0x10000)
        // Initrd, entry and tree high, below RTAS, never where the new kernel moves to.
        let high = [layout.initrd!, layout.entryPage, layout.tree]
        for s in high {
            #expect(s.mem >= layout.kernel.mem + layout.kernel.memsz)
            #expect(s.mem + s.memsz <= (1 << 30) - 0x1_0000)
        }
        #expect(layout.initrd!.bufsz == 0x12_3456)
        try BootPlan.validate(layout.segments, pageSize: Self.page)
        #expect(layout.entry == layout.entryPage.mem)
    }

    @Test func theTreeCarriesTheNewCommandLineAndInitrd() throws {
        let layout = try Self.make(Self.vmlinux(Self.loads))
        let tree = try DeviceTree(parsing: layout.treeBlob)
        let chosen = try #require(tree.node("/chosen"))
        #expect(chosen.property("bootargs") == DeviceTree.string("root=/dev/sda2 quiet \"a b\""))
        #expect(chosen.property("linux,initrd-start") == DeviceTree.u64(layout.initrd!.mem))
        #expect(chosen.property("linux,initrd-end") == DeviceTree.u64(layout.initrd!.mem + 0x12_3456))
        // The old initrd's reservation is gone (its memory was freed); RTAS and the old tree stay.
        #expect(tree.reservations.map(\.address) == [0x0281_0000, (1 << 30) - 0x1_0000])
        #expect(layout.treeBlob.count <= Int(layout.tree.memsz) && UInt64(layout.treeBlob.count) == layout.tree.bufsz)

        let none = try Self.make(Self.vmlinux(Self.loads), initrd: 0)
        #expect(none.initrd == nil)
        let bare = try #require(try DeviceTree(parsing: none.treeBlob).node("/chosen"))
        #expect(bare.property("linux,initrd-start") == nil && bare.property("linux,initrd-end") == nil)
    }

    @Test func theEntryHoldsTheKernelsLowBytesAndTheAddresses() throws {
        let bytes = Self.vmlinux(Self.loads)
        let layout = try Self.make(bytes)
        let code = layout.entryCode
        func le32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(code[o + $1]) << (8 * $1) } }
        func le64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(code[o + $1]) << (8 * UInt64($1)) } }
        #expect(le32(0) == 0x4800_0100)
        #expect(Array(code[4..<0x100]) == Array(bytes[0x10004..<0x10100]))
        #expect(le64(0x128) == layout.tree.mem)
        #expect(le64(0x130) == layout.kernel.mem)
        #expect((0..<PPC64BootLayout.entryWords.count).map { le32(0x100 + 4 * $0) } == PPC64BootLayout.entryWords)
    }

    /// The words kexboot writes are what the cross assembler makes of Tests/ppc64le/entry.S.
    @Test func theEntryWordsAreTheAssembledSource() throws {
        let dir = try Shell.run("mktemp -d").trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Shell.run("rm -rf '\(dir)'") }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ppc64le/entry.S").path
        _ = try Shell.run("powerpc64le-linux-gnu-gcc -c -Wa,-mregnames '\(source)' -o '\(dir)/e.o' && powerpc64le-linux-gnu-objcopy -O binary '\(dir)/e.o' '\(dir)/e.bin'")
        let bin = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/e.bin")))
        #expect(bin.count == 0x138)
        let code = PPC64BootLayout.entryBytes(kernelHead: [UInt8](repeating: 0, count: 0x100), tree: 0, kernel: 0)
        #expect(Array(bin[0..<4]) == Array(code[0..<4]))
        #expect(Array(bin[0x100..<0x138]) == Array(code[0x100..<0x138]))
    }

    @Test func aKernelWhoseFileOrderDiffersIsAssembled() throws {
        // The second PT_LOAD sits in the file before the first.
        let loads: [(paddr: UInt64, offset: UInt64, filesz: UInt64, memsz: UInt64)] =
            [(0, 0x20000, 0x8000, 0x10000), (0x10000, 0x10000, 0x8000, 0x8000)]
        let layout = try Self.make(Self.vmlinux(loads))
        #expect(!layout.kernelInFileOrder)
        #expect(layout.kernelLoads.map(\.at) == [0, 0x10000])
        #expect(layout.kernel.bufsz == 0x18000)
    }

    @Test func refusesWhatItCannotBoot() throws {
        #expect(throws: KexbootError.self) { try Self.make(Self.vmlinux(Self.loads, machine: 62)) }
        #expect(throws: KexbootError.self) { try Self.make(Self.vmlinux(Self.loads, bigEndian: true)) }
        // 64 MiB of memory: the kernel fits above the running one, a 60 MiB initrd does not.
        #expect(throws: KexbootError.self) { try Self.make(Self.vmlinux(Self.loads), initrd: 60 << 20, memory: 64 << 20) }
        // A running kernel that ends beyond memory.
        #expect(throws: KexbootError.self) { try Self.make(Self.vmlinux(Self.loads), kernelEnd: 2 << 30) }
        var noMemory = Self.tree()
        noMemory.root.children.removeAll { $0.name.hasPrefix("memory") }
        #expect(throws: KexbootError.self) { try Self.make(Self.vmlinux(Self.loads), tree: noMemory) }
    }

    /// prom_init reserves the initramfs rounded out to whole pages: that reservation goes too.
    @Test func theRunningInitramfsReservationGoesEvenWhenRounded() throws {
        var tree = Self.tree()
        tree.edit("/chosen") {
            $0.set("linux,initrd-start", DeviceTree.u64(0x0300_1234))
            $0.set("linux,initrd-end", DeviceTree.u64(0x037f_ff00))
        }
        let layout = try Self.make(Self.vmlinux(Self.loads), tree: tree)
        #expect(try DeviceTree(parsing: layout.treeBlob).reservations.map(\.address) == [0x0281_0000, (1 << 30) - 0x1_0000])
    }

    /// A device tree from a disk (an entry's `devicetree`) is hostile input: sizes at the top
    /// of the address space are errors, never a trap.
    @Test func hostileTreesAreRefusedNotTrapped() throws {
        func tree(memory: (UInt64, UInt64), reservations: [(address: UInt64, size: UInt64)] = []) -> DeviceTree {
            var t = Self.tree()
            t.edit("/memory@0") { $0.set("reg", DeviceTree.u64(memory.0) + DeviceTree.u64(memory.1)) }
            t.reservations = reservations
            return t
        }
        let bytes = Self.vmlinux(Self.loads)
        #expect(throws: KexbootError.self) { try Self.make(bytes, tree: tree(memory: (UInt64.max - 0xF_FFFF, 0x10_0000))) }
        // All of the address space as memory: absurd but not contradictory (a plan or an error, never a trap).
        _ = try? Self.make(bytes, tree: tree(memory: (0, UInt64.max)))
        #expect(throws: KexbootError.self) {
            try Self.make(bytes, tree: tree(memory: (0, 1 << 30), reservations: [(UInt64.max - 0xFFFF, 0x2_0000)]))
        }
        // A reservation that ends in the last page and one that covers all memory above the kernel.
        #expect(throws: KexbootError.self) {
            try Self.make(bytes, tree: tree(memory: (0, UInt64.max - 0x8000), reservations: [(0x0280_0000, UInt64.max - 0x0280_8000)]))
        }
        #expect(throws: KexbootError.self) {
            try Self.make(bytes, tree: tree(memory: (0, 1 << 30), reservations: [(0x0280_0000, (1 << 30) - 0x0280_0000)]))
        }
        #expect(throws: KexbootError.self) { try Self.make(bytes, kernelEnd: UInt64.max - 5) }
    }

    @Test func theKernelIsEnteredAtItsFirstByte() throws {
        var bytes = Self.vmlinux(Self.loads)
        bytes[24] = 0x10  // e_entry 0xc000000000000010
        #expect(throws: KexbootError.self) { try Self.make(bytes) }
    }

    @Test func readsTheRunningKernelsEnd() throws {
        let dir = try Shell.run("mktemp -d").trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Shell.run("rm -rf '\(dir)'") }
        FileManager.default.createFile(atPath: dir + "/end8", contents: Data([0, 0, 0, 0, 0x02, 0x80, 0x12, 0x34]))
        FileManager.default.createFile(atPath: dir + "/end4", contents: Data([0x02, 0x80, 0x12, 0x34]))
        FileManager.default.createFile(atPath: dir + "/bad", contents: Data([1, 2, 3]))
        #expect(try PPC64BootLayout.runningKernelEnd(path: dir + "/end8") == 0x0280_1234)
        #expect(try PPC64BootLayout.runningKernelEnd(path: dir + "/end4") == 0x0280_1234)
        #expect(throws: KexbootError.self) { try PPC64BootLayout.runningKernelEnd(path: dir + "/bad") }
        #expect(throws: KexbootError.self) { try PPC64BootLayout.runningKernelEnd(path: dir + "/missing") }
    }
}
