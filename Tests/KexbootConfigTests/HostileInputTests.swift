import Testing
import KexbootCore
@testable import KexbootConfig

/// Issue 18, "hostile input never takes kexboot down", classes 2–5: every config language
/// stays within `ConfigLimits` whatever the input, says where it stopped (file:line), and
/// keeps what it read before. The hostile inputs are built in memory; the tests check
/// counts and limits, never the time taken.
@Suite struct HostileInputTests {
    static func parse(_ path: String, _ files: [String: String], format: ConfigFormat? = nil) throws -> ParseResult {
        try ConfigParser(platform: testPlatform).parse(files: MemoryFileSource(files), config: path, format: format)
    }

    static func diagnostic(_ r: ParseResult, _ fragment: String) -> Diagnostic? {
        r.diagnostics.first { $0.message.contains(fragment) }
    }

    /// A line or value exactly `ConfigLimits.maxValueLength` long.
    static let megabyte = String(repeating: "x", count: ConfigLimits.maxValueLength)

    // MARK: Class 2: exponential expansion

    /// The example: `set a ${a}${a}` 32 times asked for 64 GiB. The 17th doubling
    /// is refused at its line; a path that handles the failure still boots.
    @Test func ipxeDoublingStopsAtTheValueLimit() throws {
        func script(handled: Bool, args: String) -> String {
            var text = "#!ipxe\nset a xxxxxxxxxxxxxxxx\n"
            for _ in 0..<32 { text += handled ? "set a ${a}${a} || goto done\n" : "set a ${a}${a}\n" }
            return text + ":done\nkernel http://server/vmlinuz \(args)\nboot\n"
        }
        let r = try Self.parse("/boot.ipxe", ["/boot.ipxe": script(handled: true, args: "a=${a}")])
        let refused = try #require(Self.diagnostic(r, "longer than 1 MiB; not set"))
        // Lines 3… double 16 → 32 → …; line 19 would make 2 MiB.
        #expect(refused.location == SourceLocation(file: "/boot.ipxe", line: 19, column: 1))
        #expect(refused.severity == .warning)
        // The value stayed at the limit, 1 MiB: a command line iPXE can still pass on.
        #expect(r.entries.count == 1)
        #expect(r.entries.first?.args.utf8.count == 2 + ConfigLimits.maxValueLength)

        // Without `|| goto`, the failing `set` ends the script, as in iPXE.
        let strict = try Self.parse("/boot.ipxe", ["/boot.ipxe": script(handled: false, args: "")])
        #expect(strict.entries.isEmpty)
        #expect(strict.has(.info, "'set' fails at line 19"))

        // Five copies would be 5 MiB: the command is never built, and fails.
        let long = try Self.parse("/boot.ipxe", ["/boot.ipxe": script(handled: true, args: "${a}${a}${a}${a}${a}")])
        #expect(long.entries.isEmpty)
        let tooLong = try #require(Self.diagnostic(long, "its words expand to more than 4 MiB"))
        #expect(tooLong.location == SourceLocation(file: "/boot.ipxe", line: 36, column: 1))
    }

    /// Short lines that each expand a 1 MiB setting: the expansion budget of the whole
    /// parse stops them; the menu item evaluated before survives.
    @Test func ipxeExpansionIsBoundedForTheWholeParse() throws {
        var script = "#!ipxe\nmenu\nitem good Good\nitem bomb Bomb\nchoose x && goto ${x}\n:good\nkernel http://server/good\nboot\n:bomb\n"
        script += "set a xxxxxxxxxxxxxxxx\n"
        for _ in 0..<16 { script += "set a ${a}${a}\n" }
        let firstCopy = 10 + 16 + 1
        for i in 0..<400 { script += "set b\(i) ${a}\n" }
        script += "kernel http://server/bomb\nboot\n"
        let r = try Self.parse("/boot.ipxe", ["/boot.ipxe": script])
        #expect(r.titles == ["Good"])
        let stop = try #require(Self.diagnostic(r, "settings expanded and compared to more than 256 MiB"))
        #expect(stop.severity == .error)
        let line = try #require(stop.location?.line)
        #expect(stop.location?.file == "/boot.ipxe")
        // About 250 copies fit in 256 MiB, not 400.
        #expect(line > firstCopy + 200 && line < firstCopy + 260)
    }

    /// GRUB already cut values at 1 MiB; now the bytes all its expansions make are bounded
    /// too, and a command whose words expand past 4 MiB is not built at all.
    @Test func grubExpansionIsBoundedForTheWholeParse() throws {
        var script = "menuentry good { linux /good }\na=xxxxxxxxxxxxxxxx\n"
        script += "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do a=\"$a$a\"; done\n"
        script += "echo $a $a $a $a $a\n"
        let firstCopy = 5
        for i in 0..<400 { script += "b\(i)=\"$a\"\n" }
        script += "menuentry late { linux /late }\n"
        let r = grub(script)
        let tooLong = try #require(Self.diagnostic(r, "its arguments are longer than 4 MiB"))
        #expect(tooLong.location?.line == 4)
        let stop = try #require(Self.diagnostic(r, "variables expanded to more than 256 MiB"))
        #expect(stop.location?.file == "/boot/grub/grub.cfg")
        let line = try #require(stop.location?.line)
        #expect(line > firstCopy + 200 && line < firstCopy + 260)
        // The config stopped there ('late' was never defined); its entries still run.
        #expect(r.titles == ["good"])
    }

    /// A million variables and thousands of entries: every entry copies the variables when
    /// it sets one, so copies count as steps, and the steps of the whole parse are bounded.
    @Test func grubCopiesOfManyVariablesAreCounted() throws {
        var script = ""
        for i in 0..<32_768 { script += "v\(i)=x\n" }
        for i in 0..<4_000 { script += "menuentry e\(i) { set y=1; linux /vmlinuz }\n" }
        let r = grub(script)
        let stop = try #require(Self.diagnostic(r, "script stopped: more than \(ConfigLimits.maxSteps) steps"))
        let line = try #require(stop.location?.line)
        // Each entry costs 1 + 32,768/16 steps: about 1,950 fit in 4 million.
        #expect(r.entries.count > 1_500 && r.entries.count < 2_100)
        #expect(line == 32_768 + r.entries.count + 1)
        #expect(r.entries.last?.title == "e\(r.entries.count - 1)")
    }

    /// syslinux, yaboot, kboot and kexboot.conf: a line past `maxValueLength` is reported at
    /// its line and ignored; the lines around it still count.
    @Test(arguments: [
        ("/boot/syslinux/syslinux.cfg", "LABEL a\n KERNEL /a\n APPEND ", "\nLABEL b\n KERNEL /b\n", ["a", "b"], 3),
        ("/etc/yaboot.conf", "image=/a\n label=a\n append=\"", "\"\nimage=/b\n label=b\n", ["a", "b"], 3),
        ("/etc/kboot.conf", "a='/a ", "'\nb='/b'\n", ["b"], 1),
        ("/boot/kexboot.conf", "entry a\nkernel /a\nargs ", "\nentry b\nkernel /b\n", ["a", "b"], 3),
    ])
    func longLinesAreIgnored(path: String, before: String, after: String, titles: [String], line: Int) throws {
        let text = before + Self.megabyte + after
        let r = try Self.parse(path, [path: text])
        #expect(r.titles == titles)
        let ignored = try #require(Self.diagnostic(r, "a line longer than 1 MiB; ignored"))
        #expect(ignored.location == SourceLocation(file: path, line: line, column: 1))
    }

    /// kexboot.conf joins its `args` lines: past `maxCommandLength` the entry is left out.
    @Test func nativeCommandLineIsBounded() throws {
        let line = "args " + String(repeating: "x", count: ConfigLimits.maxValueLength - 100) + "\n"
        let text = "entry big\nkernel /big\n" + String(repeating: line, count: 5) + "entry small\nkernel /small\n"
        let r = try Self.parse("/boot/kexboot.conf", ["/boot/kexboot.conf": text])
        #expect(r.titles == ["small"])
        let left = try #require(Self.diagnostic(r, "entry 'big': its command line is longer than 4 MiB; left out"))
        #expect(left.location == SourceLocation(file: "/boot/kexboot.conf", line: 1, column: 1))
    }

    // MARK: Class 3: include fan-out

    /// The example: a config that includes itself three times was 3¹⁶ reads (depth
    /// alone is capped). Now the reads stop after `maxIncludedFiles` in all.
    @Test func syslinuxIncludeFanOutIsBounded() throws {
        let path = "/boot/syslinux/syslinux.cfg"
        let text = "LABEL a\n KERNEL /vmlinuz\nINCLUDE syslinux.cfg\nINCLUDE syslinux.cfg\nINCLUDE syslinux.cfg\n"
        let r = try Self.parse(path, [path: text])
        // The config and a thousand includes each gave its label.
        #expect(r.entries.count == 1 + ConfigLimits.maxIncludedFiles)
        #expect(r.entries.prefix(2).map(\.id) == ["a", "a#2"])
        let stop = try #require(Self.diagnostic(r, "more than \(ConfigLimits.maxIncludedFiles) files included in all"))
        #expect(stop.severity == .error)
        #expect(stop.location?.file == path && [3, 4, 5].contains(stop.location?.line))
        // Reported once, not once per refused include.
        #expect(r.diagnostics.filter { $0.message.contains("files included in all") }.count == 1)
        #expect(r.has(.error, "includes nested more than 16 deep"))
    }

    /// The same for GRUB's `source` (`configfile` never comes back, so it cannot fan out).
    @Test func grubSourceFanOutIsBounded() throws {
        let script = "menuentry e { linux /vmlinuz }\n" + String(repeating: "source /boot/grub/grub.cfg\n", count: 3)
        let r = grub(script)
        let stop = try #require(Self.diagnostic(r, "more than \(ConfigLimits.maxIncludedFiles) files included in all"))
        #expect(stop.location?.file == "/boot/grub/grub.cfg" && [2, 3, 4].contains(stop.location?.line))
        #expect(r.diagnostics.filter { $0.message.contains("files included in all") }.count == 1)
        #expect(r.entries.count == 1 + ConfigLimits.maxIncludedFiles)
        #expect(r.has(.error, "nested more than 16 deep"))
    }

    /// iPXE reads each chained script once; a script that chains more distinct files than
    /// `maxIncludedFiles` is stopped at the chain past it, and other menu items still boot.
    @Test func ipxeChainFanOutIsBounded() throws {
        var files = ["/boot.ipxe": ""]
        var script = "#!ipxe\nmenu\nitem good Good\nitem fan Fan\nchoose x && goto ${x}\n:good\nkernel http://server/good\nboot\n:fan\n"
        for i in 0..<1_100 {
            script += "chain s\(i).ipxe\n"
            files["/s\(i).ipxe"] = "#!ipxe\necho \(i)\n"
        }
        script += "kernel http://server/fan\nboot\n"
        files["/boot.ipxe"] = script
        let r = try Self.parse("/boot.ipxe", files)
        #expect(r.titles == ["Good"])
        let stop = try #require(Self.diagnostic(r, "more than \(ConfigLimits.maxIncludedFiles) files included in all"))
        #expect(stop.location == SourceLocation(file: "/boot.ipxe", line: 10 + ConfigLimits.maxIncludedFiles, column: 1))
        #expect(r.has(.info, "'Fan' left out: it chains /s1000.ipxe"))
    }

    // MARK: Class 4: quadratic parsing

    /// The example: unclosed `menuentry a {` blocks each scanned the rest of the file
    /// (32,000 lines took minutes). Now every byte is scanned about once.
    @Test func unclosedMenuentriesParseInLinearTime() throws {
        let lines = 32_000
        let text = String(repeating: "menuentry a {\nlinux /vmlinuz\n", count: lines) + "menuentry good { linux /good }\n"
        let bytes = Array(text.utf8)
        // Every byte is gone over a few times (scanned, lexed, skipped by recovery), and
        // twice the input is twice the work; before, it was about `lines / 2` times.
        let work = Self.work(bytes)
        #expect(work < 4 * bytes.count)
        let half = Self.work(Array(String(repeating: "menuentry a {\nlinux /vmlinuz\n", count: lines / 2).utf8))
        #expect(Double(work) < 2.2 * Double(half))

        let r = RobustnessTests.parse(bytes: bytes)
        #expect(r.titles == ["good"])
        let first = try #require(r.diagnostics.first)
        #expect(first.severity == .error && first.message == "missing '}' for the '{' at line 1")
        #expect(first.location == SourceLocation(file: "/boot/grub/grub.cfg", line: 1, column: 13))
        #expect(r.has(.error, "missing '}' for the '{' at line 3"))
        #expect(r.diagnostics.count == DiagnosticSink.cap + 1)
        #expect(r.diagnostics.last?.message == "too many problems; the rest are not reported")
    }

    /// The bytes the GRUB parser goes over to parse `bytes` as one file.
    static func work(_ bytes: [UInt8]) -> Int {
        var parser = GrubParser(SourceRange(file: SourceFile(path: "/boot/grub/grub.cfg", bytes: bytes)))
        while true {
            if case .end = parser.next() { return parser.work }
        }
    }

    /// Shapes that were quadratic before (unclosed blocks inside an unclosed `if`, quotes
    /// that pair across lines, submenus, deep unclosed `if`s) or that could be: each is
    /// parsed with a bounded number of passes over it.
    @Test(arguments: [
        ("menuentry", "menuentry a {\nlinux /vmlinuz\n"),
        ("submenu", "submenu s {\nmenuentry a {\nlinux /vmlinuz\n"),
        ("if", "if true; then\nmenuentry a {\n"),
        ("function", "function f {\nlinux /vmlinuz\n"),
        ("group", "{\nlinux /vmlinuz\n"),
        ("while", "while true; do\necho x\n"),
        ("single quote", "menuentry 'a {\nlinux /vmlinuz\n"),
        ("double quote", "menuentry \"a {\nlinux /vmlinuz\n"),
        ("mixed quotes", "menuentry a { echo '\nlinux \"/vmlinuz\n"),
        ("elif", "if true; then echo\nelif true; then\n"),
    ])
    func unclosedShapesParseInLinearTime(name: String, unit: String) {
        let bytes = Array(String(repeating: unit, count: 8_000).utf8)
        let work = Self.work(bytes)
        #expect(work < 6 * bytes.count, "\(name)")
        let half = Self.work(Array(String(repeating: unit, count: 4_000).utf8))
        #expect(Double(work) < 2.2 * Double(half), "\(name)")
        // A hundred open `if`s before a long tail: the tail is parsed once, not 99 times.
        let deep = Array((String(repeating: "if true; then\n", count: 99) + String(repeating: "linux /vmlinuz\n", count: 16_000)).utf8)
        #expect(Self.work(deep) < 3 * deep.count)
    }

    // MARK: Class 5: no cap on output

    /// A config of more than `maxEntries` entries in each format: the first `maxEntries`
    /// are kept, the one after is reported at its line, and nothing after it is read (the
    /// `timeout` at the end is not applied).
    @Test(arguments: [ConfigFormat.grub, .syslinux, .yaboot, .kboot, .native, .ipxe])
    func entriesStopAtTheLimit(format: ConfigFormat) throws {
        let n = ConfigLimits.maxEntries + 10
        let last = ConfigLimits.maxEntries - 1
        let path: String
        var text = ""
        // The line reported, and the title of the last entry kept.
        let stopLine: Int
        var lastTitle = "e\(last)"
        switch format {
        case .grub:
            path = "/boot/grub/grub.cfg"
            for i in 0..<n { text += "menuentry e\(i) { linux /vmlinuz }\n" }
            text += "timeout=5\n"
            stopLine = ConfigLimits.maxEntries + 1
        case .syslinux:
            path = "/boot/syslinux/syslinux.cfg"
            for i in 0..<n { text += "LABEL e\(i)\n KERNEL /vmlinuz\n" }
            text += "TIMEOUT 50\n"
            stopLine = 2 * ConfigLimits.maxEntries + 1
        case .yaboot:
            path = "/etc/yaboot.conf"
            for i in 0..<n { text += "image=/vmlinuz\n label=e\(i)\n" }
            text += "timeout=50\n"
            stopLine = 2 * ConfigLimits.maxEntries + 1
        case .kboot:
            path = "/etc/kboot.conf"
            for i in 0..<n { text += "e\(i)='/vmlinuz'\n" }
            text += "timeout=5\n"
            stopLine = ConfigLimits.maxEntries + 1
        case .native:
            path = "/boot/kexboot.conf"
            for i in 0..<n { text += "entry e\(i)\nkernel /vmlinuz\n" }
            text += "timeout 5\n"
            stopLine = 2 * ConfigLimits.maxEntries + 1
        default:
            // One menu has too few steps for 10,000 items: 101 items with 100 each.
            path = "/boot.ipxe"
            text = "#!ipxe\nmenu\n"
            for i in 0...100 { text += "item \(i) \(i)\n" }
            text += "choose top\nmenu\n"
            for j in 0..<100 { text += "item s\(j) ${top}-\(j)\n" }
            text += "choose x\nkernel http://server/vmlinuz\nboot\n"
            stopLine = 3 + 101 + 2 + 100 + 2  // the `boot` line
            lastTitle = "\(last / 100)-\(last % 100)"
        }
        let r = try Self.parse(path, [path: text])
        #expect(r.entries.count == ConfigLimits.maxEntries)
        #expect(r.entries.last?.title == lastTitle)
        #expect(r.timeout == nil)
        let stop = try #require(Self.diagnostic(r, "more than \(ConfigLimits.maxEntries) entries"))
        #expect(stop.severity == .error)
        #expect(stop.location == SourceLocation(file: path, line: stopLine, column: stop.location?.column ?? 0))
        #expect(r.diagnostics.filter { $0.message.contains("more than \(ConfigLimits.maxEntries) entries") }.count == 1)
    }

    /// A diagnostic quotes the config, which may be megabytes long: a thousand of them are
    /// kept, each cut short.
    @Test func diagnosticsAreBounded() throws {
        var script = "a=xxxxxxxxxxxxxxxx\nfor i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do a=\"$a$a\"; done\n\"é${a}\"\n"
        for i in 0..<1_200 { script += "unknown\(i)\n" }
        let r = grub(script)
        #expect(r.diagnostics.count == DiagnosticSink.cap + 1)
        let long = try #require(Self.diagnostic(r, "unknown command 'é"))
        #expect(long.message.utf8.count <= DiagnosticSink.maxMessageLength + 3)
        #expect(long.message.hasPrefix("unknown command 'éxxx") && long.message.hasSuffix("x…"))
        #expect(long.location == SourceLocation(file: "/boot/grub/grub.cfg", line: 3, column: 1))
    }

    /// A million `menuentry` lines took 30 s and 860 MB: now the parse stops at the limit
    /// and keeps only what it keeps.
    @Test func aMillionMenuentriesStopAtTheLimit() {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(40_000_000)
        for i in 0..<1_000_000 { bytes += Array("menuentry e\(i) { linux /vmlinuz }\n".utf8) }
        let r = RobustnessTests.parse(bytes: bytes)
        #expect(r.entries.count == ConfigLimits.maxEntries)
        #expect(r.has(.error, "more than \(ConfigLimits.maxEntries) entries"))
        #expect(r.diagnostics.count == 1)
    }

    /// BLS: a directory of more snippets than `maxEntries` is read up to the limit.
    @Test func blsSnippetsStopAtTheLimit() throws {
        var files: [String: String] = [:]
        for i in 0..<(ConfigLimits.maxEntries + 5) {
            files["/loader/entries/e\(i).conf"] = "title e\(i)\nlinux /vmlinuz\n"
        }
        let r = try Self.parse("/loader/entries", files, format: .bls)
        #expect(r.entries.count == ConfigLimits.maxEntries)
        let stop = try #require(Self.diagnostic(r, "more than \(ConfigLimits.maxEntries) entries"))
        #expect(stop.file == "/loader/entries")
    }

    /// Entries that are each large stop at `maxEntryBytes` in all: memory follows what is
    /// kept, and what is kept is bounded.
    @Test func entryBytesAreBounded() throws {
        let path = "/boot/syslinux/syslinux.cfg"
        let append = "a=" + String(repeating: "x", count: ConfigLimits.maxValueLength - 100)
        var text = "APPEND \(append)\n"
        for i in 0..<200 { text += "LABEL e\(i)\n KERNEL /vmlinuz\n" }
        let r = try Self.parse(path, [path: text])
        let fit = ConfigLimits.maxEntryBytes / ConfigLimits.maxValueLength
        #expect(r.entries.count == fit - 1)
        let stop = try #require(Self.diagnostic(r, "the entries take more than 64 MiB in all"))
        #expect(stop.location == SourceLocation(file: path, line: 2 + 2 * (fit - 1), column: 1))
    }
}
