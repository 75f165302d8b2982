import Testing
import KexbootCore
@testable import KexbootConfig

/// Hostile and broken input: diagnostics and whatever entries can be read; never a crash
/// or a hang.
@Suite struct RobustnessTests {
    static func parse(bytes: [UInt8]) -> ParseResult {
        try! GrubConfig.parse(path: "/boot/grub/grub.cfg", files: MemoryFileSource(bytes: ["/boot/grub/grub.cfg": bytes]),
                              platform: testPlatform)
    }

    /// A small deterministic generator (xorshift), so failures can be reproduced.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func binaryGarbage(seed: UInt64) {
        var rng = Random(state: 0x9E37_79B9_7F4A_7C15 &* seed)
        let bytes = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let r = Self.parse(bytes: bytes)
        #expect(r.diagnostics.count <= DiagnosticSink.cap + 1)
        #expect(r.diagnostics.contains { $0.severity == .error || $0.severity == .warning })
    }

    @Test func garbageAroundAGoodEntryKeepsTheEntry() {
        var rng = Random(state: 42)
        let excluded: Set<UInt8> = [0x7b, 0x7d, 0x27, 0x22]
        var bytes: [UInt8] = []
        for _ in 0..<20_000 {
            let b = UInt8(truncatingIfNeeded: rng.next())
            if !excluded.contains(b) { bytes.append(b) }
        }
        bytes += Array("\nmenuentry 'good' { linux /good; }\n".utf8)
        for _ in 0..<20_000 { bytes.append(UInt8(truncatingIfNeeded: rng.next()) | 0x80) }
        let r = Self.parse(bytes: bytes)
        #expect(r.titles == ["good"])
    }

    @Test func nulBytesAndInvalidUTF8() {
        let bytes: [UInt8] = Array("menuentry 'caf".utf8) + [0xE9, 0xFF] + Array("' {\0 linux /k\0 a\0b; }\n".utf8)
        let r = Self.parse(bytes: bytes)
        #expect(r.titles == ["caf\u{FFFD}\u{FFFD}"])
        #expect(r.entries.first?.args == "a b")
        #expect(r.has(.warning, "NUL bytes"))
    }

    @Test func tenThousandNestedIfs() {
        let text = String(repeating: "if true; then\n", count: 10_000) + "menuentry deep { linux /deep; }\n"
            + String(repeating: "fi\n", count: 10_000) + "menuentry after { linux /after; }\n"
        let r = Self.parse(bytes: Array(text.utf8))
        #expect(r.has(.error, "nested more than"))
        #expect(r.titles.last == "after")
    }

    @Test func tenThousandNestedBracesAndSubmenus() {
        let braces = String(repeating: "{ ", count: 10_000) + String(repeating: "} ", count: 10_000) + "\nmenuentry after { linux /after; }\n"
        let r1 = Self.parse(bytes: Array(braces.utf8))
        #expect(r1.has(.error, "nested more than"))
        #expect(r1.titles == ["after"])
        let submenus = String(repeating: "submenu s {\n", count: 10_000) + "menuentry deep { linux /deep; }\n" + String(repeating: "}\n", count: 10_000)
        let r2 = Self.parse(bytes: Array(submenus.utf8))
        #expect(r2.has(.error, "submenus nested more than"))
    }

    @Test func endlessLoopsAndRecursionStop() {
        let r = Self.parse(bytes: Array("""
        while true; do true; done
        function f { f; }
        f
        function g { g; g; }
        g
        for i in 1 2 3; do while true; do set x=1; done; done
        menuentry 'still here' { linux /k; }
        menuentry 'loops at boot' { while true; do true; done; linux /after-loop; }
        """.utf8))
        // An endless loop is cut off, and what follows it still runs.
        #expect(r.titles == ["still here", "loops at boot"])
        #expect(r.entries.last?.kernel == .file(device: nil, path: "/after-loop"))
        #expect(r.has(.error, "loop stopped after"))
        #expect(r.has(.error, "too many loop iterations or calls"))
        #expect(r.has(.error, "calls itself more than"))
    }

    /// Doubling a string in a loop would need 64 GiB: values are capped instead.
    @Test func doublingStringsIsCapped() {
        let r = Self.parse(bytes: Array("""
        a=xxxxxxxxxxxxxxxx
        for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32; do a="$a$a"; done
        menuentry 'still here' { linux /k $a $a $a $a $a; }
        menuentry 'fine' { linux /f; }
        """.utf8))
        #expect(r.has(.error, "was cut short"))
        #expect(r.has(.error, "arguments are longer than"))
        #expect(r.titles == ["fine"])
    }

    @Test func unterminatedEverything() {
        for text in ["menuentry 'a", "menuentry \"a", "menuentry a {", "if", "for x in", "${", "\\", "function", "submenu x { menuentry y {"] {
            let r = Self.parse(bytes: Array(text.utf8))
            #expect(r.entries.isEmpty, "\(text)")
        }
    }

    @Test func fiftyMegabyteConfig() {
        // Realistic lines, repeated to 50 MB, with one entry at the end.
        let block = """
        # Generated block
        set gfxmode=auto
        if [ x$feature_platform_search_hint = xy ]; then set hint=yes; else set hint=no; fi
        insmod part_gpt
        set some_variable_name="value with spaces and $hint"

        """
        let repeats = 50_000_000 / block.utf8.count + 1
        var bytes: [UInt8] = []
        bytes.reserveCapacity(50_100_000)
        let blockBytes = Array(block.utf8)
        for _ in 0..<repeats { bytes += blockBytes }
        bytes += Array("menuentry 'end' { linux /end $hint; }\n".utf8)
        #expect(bytes.count > 50_000_000)
        let r = Self.parse(bytes: bytes)
        #expect(r.titles == ["end"])
        #expect(r.entries.first?.args == "yes")
    }
}
