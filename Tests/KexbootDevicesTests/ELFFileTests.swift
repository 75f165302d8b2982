import KexbootTestSupport
import Foundation
import Testing
@testable import KexbootDevices
@testable import KexbootOS

@Suite(.serialized) struct ELFFileTests {
    static func load(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The test binary itself: a real x86_64 ELF, checked against binutils' readelf.
    @Test func ownBinaryMatchesReadelf() throws {
        let path = CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0] : try Shell.run("readlink -f /proc/self/exe").trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes = try Self.load(path)
        let elf = try ELFFile(bytes: bytes)
        #expect(elf.elfClass == 64 && elf.endian == .little && elf.machineName == "x86_64" && elf.abi == nil)
        let header = try Shell.run("readelf -h \(path)")
        let entryLine = header.split(separator: "\n").first { $0.contains("Entry point address") }!
        let entry = UInt64(entryLine.split(separator: "0x").last!.trimmingCharacters(in: .whitespaces), radix: 16)!
        #expect(elf.entry == entry)
        let loads = try Shell.run("readelf -lW \(path) | awk '$1 == \"LOAD\" {print $2, $4, $5, $6}'")
        let expected = loads.split(separator: "\n").map { line -> [UInt64] in
            line.split(separator: " ").map { UInt64($0.dropFirst(2), radix: 16)! }
        }
        let actual = elf.segments.filter { $0.type == ELFFile.Segment.load }.map { [$0.offset, $0.paddr, $0.filesz, $0.memsz] }
        #expect(actual == expected)
        #expect(elf.notes.contains { $0.name == "GNU" })
    }

    @Test func crossCompiledPPC64ObjectAndExecutable() throws {
        let dir = try Shell.temporaryDirectory("ppc64")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "int triple(int x) { return 3 * x; }\n".write(toFile: dir + "/o.c", atomically: true, encoding: .utf8)
        try "void _start(void) { for (;;) ; }\n".write(toFile: dir + "/s.c", atomically: true, encoding: .utf8)
        try Shell.run("cd \(dir) && powerpc64-linux-gnu-gcc -O2 -c o.c -o o.o && powerpc64-linux-gnu-gcc -O2 -nostdlib -static -o s.elf s.c")
        let object = try ELFFile(bytes: try Self.load(dir + "/o.o"))
        #expect(object.elfClass == 64 && object.endian == .big && object.machineName == "ppc64")
        #expect(object.typeName == "rel" && object.abi == 1 && object.segments.isEmpty)
        let exe = try ELFFile(bytes: try Self.load(dir + "/s.elf"))
        #expect(exe.typeName == "exec" && exe.abi == 1)
        #expect(exe.segments.contains { $0.type == ELFFile.Segment.load && $0.flagString == "r-x" })
        // ELFv2 when asked for: the ABI bits in e_flags.
        try Shell.run("cd \(dir) && powerpc64-linux-gnu-gcc -O2 -mabi=elfv2 -c o.c -o v2.o")
        #expect(try ELFFile(bytes: try Self.load(dir + "/v2.o")).abi == 2)
    }

    /// A 32-bit big-endian ppc ELF carrying the IEEE 1275 note, as GRUB's and yaboot's
    /// PReP payloads do; built from Fixtures/note.S with a linker script that gives the
    /// note its own PT_NOTE segment.
    static func buildNoteELF() throws -> [UInt8] {
        let dir = try Shell.temporaryDirectory("note")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Shell.run("powerpc64-linux-gnu-gcc -m32 -nostdlib -static -Wl,-T,\(Shell.fixtures)/note.ld -o \(dir)/note.elf \(Shell.fixtures)/note.S")
        return try load(dir + "/note.elf")
    }

    @Test func powerPCNote() throws {
        let elf = try ELFFile(bytes: try Self.buildNoteELF())
        #expect(elf.elfClass == 32 && elf.endian == .big && elf.machineName == "ppc" && elf.typeName == "exec")
        #expect(elf.entry == 0x200074)
        let note = try #require(elf.notes.first { $0.name == "PowerPC" })
        #expect(note.type == 0x1275)
        #expect(note.ppc1275 == .init(realMode: -1, realBase: 0xc00000, realSize: -1, virtBase: -1, virtSize: -1, loadBase: 0x4000))
        #expect(elf.json.serialized(compact: true).contains(#""notes":[{"name":"PowerPC","type":4725,"ppc1275":{"real_mode":-1,"real_base":12582912,"real_size":-1,"virt_base":-1,"virt_size":-1,"load_base":16384}}"#))
    }

    /// Every truncation of a real ELF either parses or fails cleanly: never a crash.
    @Test func everyTruncationIsACleanError() throws {
        let bytes = try Self.buildNoteELF()
        var errors = 0
        for length in 0..<bytes.count {
            do {
                _ = try ELFFile(bytes: Array(bytes[0..<length]))
            } catch let error as ELFFile.Error {
                errors += 1
                #expect(!error.message.isEmpty)
            }
        }
        // Everything shorter than the headers plus the segments is refused.
        #expect(errors >= 200)
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let original = try Self.buildNoteELF()
        var state: UInt64 = 0x1234_5678_9abc_def1
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        var parsed = 0
        for _ in 0..<5000 {
            var bytes = original
            for _ in 0..<(1 + next() % 4) {
                let at = Int(next() % 200)  // the headers and the note
                bytes[at] = UInt8(truncatingIfNeeded: next())
            }
            if (try? ELFFile(bytes: bytes)) != nil { parsed += 1 }
        }
        #expect(parsed > 0 && parsed < 5000)
    }

    static func header64(phoff: UInt64, phnum: UInt16, phentsize: UInt16 = 56) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 64)
        h[0...3] = [0x7f, 0x45, 0x4c, 0x46]
        h[4] = 2; h[5] = 1; h[6] = 1
        h[16] = 2; h[18] = 62
        for i in 0..<8 { h[32 + i] = UInt8(truncatingIfNeeded: phoff >> (8 * UInt64(i))) }
        h[54] = UInt8(phentsize & 0xff); h[55] = UInt8(phentsize >> 8)
        h[56] = UInt8(phnum & 0xff); h[57] = UInt8(phnum >> 8)
        return h
    }

    static func phdr64(type: UInt32, offset: UInt64, filesz: UInt64, memsz: UInt64) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 56)
        for i in 0..<4 { p[i] = UInt8(truncatingIfNeeded: type >> (8 * UInt32(i))) }
        for i in 0..<8 {
            p[8 + i] = UInt8(truncatingIfNeeded: offset >> (8 * UInt64(i)))
            p[32 + i] = UInt8(truncatingIfNeeded: filesz >> (8 * UInt64(i)))
            p[40 + i] = UInt8(truncatingIfNeeded: memsz >> (8 * UInt64(i)))
        }
        return p
    }

    @Test(arguments: [
        ("bad magic", [0x7f, 0x45, 0x4c, 0x47] + [UInt8](repeating: 0, count: 60), "bad magic"),
        ("bad class", [0x7f, 0x45, 0x4c, 0x46, 9] + [UInt8](repeating: 0, count: 59), "class"),
        ("headers past end", header64(phoff: 64, phnum: 65535), "past the end"),
        ("offset overflow", header64(phoff: UInt64.max - 8, phnum: 1), "past the end"),
        ("short entries", header64(phoff: 64, phnum: 1, phentsize: 8) + [UInt8](repeating: 0, count: 8), "program header size"),
        ("huge entries", header64(phoff: 64, phnum: 65535, phentsize: 65535), "program header size"),
        ("segment past end", header64(phoff: 64, phnum: 1) + phdr64(type: 1, offset: 100, filesz: 1 << 40, memsz: 1 << 40), "past the end"),
        ("segment overflow", header64(phoff: 64, phnum: 1) + phdr64(type: 1, offset: UInt64.max, filesz: 2, memsz: 2), "past the end"),
        ("memsz < filesz", header64(phoff: 64, phnum: 1) + phdr64(type: 1, offset: 0, filesz: 64, memsz: 1), "smaller"),
        ("note overflow", header64(phoff: 64, phnum: 1) + phdr64(type: 4, offset: 120, filesz: 16, memsz: 16) + [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], "note name"),
    ] as [(String, [UInt8], String)])
    func hostileHeaders(name: String, bytes: [UInt8], message: String) {
        do {
            _ = try ELFFile(bytes: bytes)
            Issue.record("\(name) was accepted")
        } catch let error as ELFFile.Error {
            #expect(error.message.contains(message), "\(name): \(error.message)")
        } catch {
            Issue.record("\(name): unexpected \(error)")
        }
    }
}
