import Testing
import KexbootCore
@testable import KexbootConfig

@Suite struct GrubBuiltinTests {
    @Test func setUnsetExportAndAssignment() {
        let i = interpreter().run("""
        set a=1
        set b="two words"
        c=3
        set d=x=y
        unset c
        export e
        set e=exported
        set
        """)
        #expect(i["a"] == "1" && i["b"] == "two words" && i["c"] == "" && i["d"] == "x=y")
        #expect(i.context.vars["e"]?.exported == true)
        #expect(i.context.vars["a"]?.exported == false)
        #expect(i.status == 0)
        i.run("set notanassignment")
        #expect(i.status == 1)
    }

    @Test(arguments: [
        ("[ a = a ]", true), ("[ a == b ]", false), ("[ a != b ]", true), ("test -n x", true), ("test -z x", false),
        ("[ -z \"\" ]", true), ("[ x ]", true), ("[ \"\" ]", false), ("[ ]", true),
        ("[ 10 -gt 9 ]", true), ("[ 010 -eq 8 ]", true), ("[ 0x10 -eq 16 ]", true), ("[ -3 -lt 2 ]", true),
        ("[ 5 -ge 5 -a 4 -le 3 ]", false), ("[ 5 -ge 5 -o 4 -le 3 ]", true), ("[ ! a = b ]", true),
        ("[ ( a = b -o c = c ) -a d = d ]", true), ("[ a \"<\" b ]", true), ("[ b \">=\" c ]", false),
        ("[ vmlinuz-6.10 -pgt vmlinuz-6.9 ]", true), ("[ vmlinuz-6.10 -plt vmlinuz-6.9 ]", false),
        ("[ -e /boot/vmlinuz ]", true), ("[ -f /boot/vmlinuz ]", true), ("[ -d /boot ]", true), ("[ -f /boot ]", false),
        ("[ -s /boot/empty ]", false), ("[ -e /boot/empty ]", true), ("[ -e /missing ]", false),
        ("[ -e ($root)/boot/vmlinuz ]", true), ("[ -e (hd9,gpt9)/boot/vmlinuz ]", false),
        ("[ -s $prefix/grubenv ]", true), ("[ x$feature_platform_search_hint = xy ]", true),
        ("[ a = a", true),
    ])
    func testBuiltin(script: String, expected: Bool) {
        let i = interpreter(files: ["/boot/vmlinuz": "k", "/boot/empty": "", "/boot/grub/grubenv": "# GRUB Environment Block\n"])
        i.run(script)
        #expect((i.status == 0) == expected, "\(script)")
    }

    /// Every rule of GRUB's `test` (grub-core/commands/test.c) for empty, missing and odd
    /// operands; GrubTestExpression's comment states each rule.
    @Test(arguments: [
        // The command: `]` dropped for both names; none at all is true; `[` without `]` runs.
        ("test", true), ("[ ]", true), ("test ]", true), ("test a ]", true), ("test \"\" ]", false),
        ("[ \"\" = \"\"", true), ("[ -n", true), ("[ a ] ]", true), ("[ ] ]", true),
        // Strings: byte comparison, empty operands are ordinary strings.
        ("[ \"\" = \"\" ]", true), ("[ \"\" == x ]", false), ("[ \"\" != x ]", true), ("[ \"\" \"<\" a ]", true),
        ("[ a \"<=\" a ]", true), ("[ \"\" \">\" \"\" ]", false), ("[ \"\" \">=\" \"\" ]", true), ("[ B \"<\" a ]", true),
        ("[ \"\u{e9}\" = \"e\u{301}\" ]", false),
        // -n / -z with an empty operand, and with none (then they are plain words).
        ("[ -n \"\" ]", false), ("[ -z \"\" ]", true), ("[ -n ]", true), ("[ -z ]", true),
        // A binary operator wins over a unary one or `!`, `(`, `-a` as operands.
        ("[ -n = -n ]", true), ("[ ! = ! ]", true), ("[ ( = ( ]", true), ("[ -a = -a ]", true), ("[ -z != -z ]", false),
        // Bare strings.
        ("[ \"\" ]", false), ("[ 0 ]", true), ("[ ! ]", true), ("[ -a ]", true), ("[ -o ]", true), ("[ ( ]", true), ("[ ) ]", true),
        // Integers: strtosl, then 32 bits.
        ("[ \"\" -eq 0 ]", true), ("[ abc -eq 0 ]", true), ("[ 12abc -eq 12 ]", true), ("[ 08 -eq 8 ]", true),
        ("[ 010 -eq 8 ]", true), ("[ 0x1f -eq 31 ]", true), ("[ 0X1f -eq 0 ]", true), ("[ 0x -eq 0 ]", true),
        ("[ +5 -eq 0 ]", true), ("[ \" 7\" -eq 7 ]", true), ("[ \" -7\" -eq 0 ]", true), ("[ - -eq 0 ]", true),
        ("[ --5 -eq 0 ]", true), ("[ -0x10 -eq -16 ]", true), ("[ 4294967296 -eq 0 ]", true), ("[ 2147483648 -lt 0 ]", true),
        ("[ 4294967295 -eq -1 ]", true), ("[ 99999999999999999999 -eq -1 ]", true), ("[ -1 -ne 1 ]", true),
        ("[ -2 -le -2 ]", true), ("[ -2 -ge -1 ]", false), ("[ \"\" -lt 1 ]", true), ("[ \"\" -gt \"\" ]", false),
        // -pgt / -plt: after the common prefix, never backing up to the first character.
        ("[ vmlinuz-2 -plt vmlinuz-11 ]", true), ("[ a10 -pgt a9 ]", true), ("[ 29 -pgt 200 ]", true),
        ("[ 19 -plt 20 ]", true), ("[ x -pgt x ]", false), ("[ \"\" -plt 1 ]", true), ("[ k-5 -pgt k-05 ]", false),
        // Files: empty names and whole devices are the device's root directory.
        ("[ -e \"\" ]", true), ("[ -d \"\" ]", true), ("[ -f \"\" ]", false), ("[ -s \"\" ]", false),
        ("[ -d / ]", true), ("[ -d ($root) ]", true), ("[ -e ($root)/ ]", true), ("[ -s ($root) ]", false),
        ("[ -d (hd9,9) ]", false), ("[ -e (uuid ]", false), ("[ -s (uuid ]", false), ("[ -e \"(uuid)\" ]", false),
        ("[ -e boot ]", true), ("[ -d boot/ ]", true), ("[ -e boot/vmlinuz ]", false), ("[ -e /boot/vmlinuz/ ]", true),
        ("[ -e x)/boot/vmlinuz ]", true), ("[ -f /boot/ ]", false), ("[ -e /missing/x ]", false),
        // -s: a non-empty regular file by absolute name; otherwise a block list.
        ("[ -s /boot/vmlinuz ]", true), ("[ -s /boot/empty ]", false), ("[ -s /missing ]", false), ("[ -s /boot ]", false),
        ("[ -s vmlinuz ]", false), ("[ -s ($root)/boot/vmlinuz ]", true), ("[ -s 0+1 ]", true), ("[ -s +4 ]", true),
        ("[ -s 0+0 ]", false), ("[ -s 0+1,5+2 ]", true), ("[ -s \"0+1 x\" ]", true), ("[ -s 0+1x ]", false),
        ("[ -s ($root)0+1 ]", true), ("[ -s (hd9,9)/boot/vmlinuz ]", false),
        // -nt / -ot: existence decides when one side is missing; a bias is read after the operator.
        ("[ /boot/vmlinuz -nt /missing ]", true), ("[ /missing -nt /boot/vmlinuz ]", false),
        ("[ /missing -ot /boot/vmlinuz ]", true), ("[ /boot/vmlinuz -ot /missing ]", false),
        ("[ /boot/old -nt200 /boot/new ]", true), ("[ /boot/new -ot-200 /boot/old ]", true),
        // !: applies to the next test; `! !` cancels; it survives -a/-o.
        ("[ ! \"\" ]", true), ("[ ! ! x ]", true), ("[ ! -e /missing ]", true), ("[ x ! ]", true),
        ("[ ! -a \"\" ]", true), ("[ ! -o \"\" ]", true),
        // -a is optional; -o closes an and-chain; a trailing -o starts an empty (true) chain.
        ("[ a b ]", true), ("[ a \"\" ]", false), ("[ a -a \"\" ]", false), ("[ \"\" -o a ]", true),
        ("[ \"\" -o \"\" ]", false), ("[ \"\" -o ]", true), ("[ a -o \"\" -a \"\" ]", true), ("[ \"\" -a a -o a ]", true),
        // Parentheses: `)` at the top level ends the expression; a missing `)` closes at the end.
        ("[ ( \"\" -o a ) -a b ]", true), ("[ ! ( a ) ]", false), ("[ ( a = a ]", true), ("[ ( \"\" ]", false),
        ("[ a ) \"\" ]", true), ("[ \"\" ) a ]", false), ("[ ( ( ( a ) ) ) ]", true),
        // An error pending in the command makes later file tests false; -s clears it.
        ("[ x -eq 1 -o -e /boot/vmlinuz ]", false), ("[ 1 -eq 0 -o -e /boot/vmlinuz ]", true),
        ("[ -e (uuid -o -e /boot/vmlinuz ]", false), ("[ -e /missing/x -o -d /boot ]", false),
        ("[ -e /missing -o -d /boot ]", true), ("[ x -eq 0 -a -s /boot/vmlinuz ]", false),
        ("[ x -eq 0 -a -s /boot/vmlinuz -o -e /boot/vmlinuz ]", true), ("[ -e /missing/x -o x ]", true),
    ])
    func testOperatorRules(script: String, expected: Bool) {
        let i = interpreter(files: ["/boot/vmlinuz": "k", "/boot/empty": "", "/boot/old": "o", "/boot/new": "n"])
        i.run(script)
        #expect((i.status == 0) == expected, "\(script)")
    }

    @Test func testTimesAndDepth() {
        let times = ["/boot/old": FileInfo(kind: .file, size: 1, mtime: 1000), "/boot/new": FileInfo(kind: .file, size: 1, mtime: 1100),
                     "/boot": FileInfo(kind: .directory, size: 0, mtime: 0), "/": FileInfo(kind: .directory, size: 0)]
        func run(_ words: [String]) -> Bool {
            GrubTestExpression.command(words) { name in
                let key = name.count > 1 && name.hasSuffix("/") ? String(name.dropLast()) : name
                return times[key].map(GrubFileLookup.found) ?? .missing
            }
        }
        func run(_ words: String) -> Bool { run(words.split(separator: " ").map(String.init)) }
        #expect(run("/boot/new -nt /boot/old"))
        #expect(!run("/boot/new -nt /boot/new"))
        #expect(run("/boot/old -nt101 /boot/new"))
        #expect(!run("/boot/old -nt100 /boot/new"))
        #expect(run("/boot/new -ot-101 /boot/old"))
        // B missing: its time is A's (GRUB keeps the last file's details), so a bias decides -ot.
        #expect(run("/boot/new -ot-1 /missing"))
        #expect(!run("/boot/new -ot /missing"))
        // A bias that is no number raises an error: later file tests are false.
        #expect(!run("/boot/new -ntx /boot/old -a -e /boot/new"))
        // 100 nested parentheses are evaluated; the 101st stops that level with an error.
        #expect(run(Array(repeating: "(", count: 100) + ["-e", "/boot/new"]))
        #expect(!run(Array(repeating: "(", count: 101) + ["-e", "/boot/new"]))
        #expect(run(Array(repeating: "(", count: 101) + ["x"]))
        #expect(!run(Array(repeating: "(", count: 100) + [""]))
        // Numbers as GRUB's strtoull reads them.
        let hexWithoutDigits = GrubTestExpression.unsignedNumber(Array("0x".utf8))
        #expect(hexWithoutDigits.value == 0 && hexWithoutDigits.error)
        #expect(GrubTestExpression.unsignedNumber(Array("18446744073709551616".utf8)).value == UInt64.max)
        #expect(GrubTestExpression.signedNumber("-").error && GrubTestExpression.signedNumber("abc").error)
        #expect(!GrubTestExpression.signedNumber("12abc").error)
        #expect(GrubTestExpression.isBlockList(Array("+1,2+3".utf8)) && !GrubTestExpression.isBlockList(Array("1+2 ,3+4".utf8)))
    }

    @Test func bracketWithoutCloseIsEvaluatedWithANote() {
        let i = interpreter()
        i.run("[ -z \"\"")
        #expect(i.status == 0)
        #expect(i.diagnostics.items.contains { $0.severity == .info && $0.message.contains("without a closing ']'") })
    }

    @Test func searchResolvesThisDeviceOrNamesAnother() {
        let i = interpreter(files: ["/boot/marker": "x"], uuid: "6F1C-AA")
        i.run("search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt2 --hint hd1 6f1c-aa")
        #expect(i["root"] == "uuid:6F1C-AA")
        #expect(i.resolveDevice(i["root"]) == .this)
        i.run("search --fs-uuid --set=other 1234-5678")
        #expect(i["other"] == "uuid:1234-5678")
        #expect(i.resolveDevice(i["other"]) == .named("uuid:1234-5678"))
        i.run("search.fs_label DATA lbl")
        #expect(i["lbl"] == "label:DATA")
        i.run("search --file --set=f /boot/marker")
        #expect(i["f"] == "uuid:6F1C-AA" && i.status == 0)
        i.run("search --file --set=g /nope")
        #expect(i["g"] == "" && i.status == 1)
        i.run("search.fs_uuid 1234-5678")
        #expect(i["root"] == "uuid:1234-5678")
        i.run("search x")
        #expect(i.status == 1)
    }

    @Test func sourceRunsInTheSameContextAndConfigfileInANewOne() {
        let r = grub("""
        set shared=1
        export shared
        set private=1
        source $prefix/extra.cfg
        menuentry 'Outer' { linux /outer $from_source; }
        configfile /boot/grub/other.cfg
        menuentry 'Never reached' { linux /never; }
        """, files: [
            "/boot/grub/extra.cfg": "set from_source=yes\n",
            "/boot/grub/other.cfg": "set timeout=7\nset default=inner2\nmenuentry 'Inner' { linux /inner \"$shared\" \"$private\"; }\nmenuentry 'Inner 2' --id inner2 { linux /inner2; }\n",
        ])
        #expect(r.titles == ["Outer", "Inner", "Inner 2"])
        #expect(r.entries[0].args == "yes")
        #expect(r.entries[1].args == "1 \"\"" || r.entries[1].args == "1 ")
        #expect(r.timeout == 7)
        #expect(r.defaultIndex == 2)
    }

    @Test func configfileDefaultCountsOnlyTheItemsGrubDefines() {
        // An entry whose body does not parse is no item: the replacing file's default
        // counts from its own first item all the same (a fuzzer found the crash).
        let r = grub("""
        menuentry 'Broken' { fi }
        menuentry 'Outer' { linux /outer; }
        configfile /boot/grub/other.cfg
        """, files: ["/boot/grub/other.cfg": "set default=1\nmenuentry 'Inner' { linux /inner; }\nmenuentry 'Inner 2' { linux /inner2; }\n"])
        #expect(r.titles == ["Outer", "Inner", "Inner 2"])
        #expect(r.defaultIndex == 2)
        let alone = grub("menuentry '' {fi}\nconfigfile $prefix/grub.cfg\n")
        #expect(alone.entries.isEmpty)
    }

    @Test func sourceLoopsStopAtALimit() {
        let r = grub("source /boot/grub/grub.cfg\nmenuentry 'x' { linux /x; }\n")
        #expect(r.has(.error, "nested more than"))
        #expect(r.titles.first == "x")
    }

    @Test func loadEnvAndSaveEnv() {
        var env = "# GRUB Environment Block\nsaved_entry=Two\nkernelopts=root=/dev/sda1 ro\\\\x\nother=1\n"
        env += String(repeating: "#", count: 1024 - env.utf8.count)
        let files = ["/boot/grub/grubenv": env, "/custom/env": env]
        let i = interpreter(files: files).run("load_env\nsave_env saved_entry\nload_env -f /custom/env other")
        #expect(i["saved_entry"] == "Two")
        #expect(i["kernelopts"] == "root=/dev/sda1 ro\\x")
        i.run("load_env -f /missing")
        #expect(i.status == 1)
        #expect(i.diagnostics.items.contains { $0.message.contains("/missing not found") })
    }

    @Test func loaderCommands() {
        let r = grub("""
        menuentry 'Linux' {
          linux /vmlinuz root=/dev/sda1 "console=ttyS0,115200 n8" 'a\\b' x"'"y
          initrd /ucode.img /initrd.img
          devicetree /dtbs/board.dtb
        }
        menuentry 'Linux16' { linux16 /memtest; initrd16 newc:name:/extra.cpio; }
        menuentry 'EFI' { linuxefi /vmlinuz quiet; initrdefi /initrd; }
        menuentry 'Xen' {
          multiboot2 /boot/xen.gz placeholder dom0_mem=1024M
          module2 /boot/vmlinuz placeholder root=/dev/sda1 ro
          module2 --nounzip /boot/initrd.img
        }
        menuentry 'Chain' { chainloader +1; }
        menuentry 'Initrd first' { initrd /i; }
        """)
        #expect(r.titles == ["Linux", "Linux16", "EFI", "Xen"])
        let linux = r.entries[0]
        #expect(linux.kernel == .file(device: nil, path: "/vmlinuz"))
        #expect(linux.initrds == [.file(device: nil, path: "/ucode.img"), .file(device: nil, path: "/initrd.img")])
        #expect(linux.devicetree == .file(device: nil, path: "/dtbs/board.dtb"))
        #expect(linux.args == #"root=/dev/sda1 "console=ttyS0,115200 n8" a\\b x\'y"#)
        #expect(r.entries[1].initrds == [.file(device: nil, path: "/extra.cpio")])
        #expect(r.entries[2].args == "quiet")
        let xen = r.entries[3]
        #expect(xen.kind == .multiboot)
        #expect(xen.kernel == .file(device: nil, path: "/boot/xen.gz"))
        #expect(xen.args == "placeholder dom0_mem=1024M")
        #expect(xen.modules == [
            BootModule(resource: .file(device: nil, path: "/boot/vmlinuz"), args: "placeholder root=/dev/sda1 ro"),
            BootModule(resource: .file(device: nil, path: "/boot/initrd.img"), args: ""),
        ])
        #expect(r.has(.info, "'Chain' left out: it uses 'chainloader'"))
        #expect(r.has(.warning, "you need to load the kernel first"))
    }

    @Test func devicesInPaths() {
        let r = grub("""
        menuentry 'a' { linux (hd0,gpt3)/vmlinuz; initrd ($root)/i; }
        menuentry 'b' { set root=(hd1,msdos1); linux /../vmlinuz//x/./y; }
        menuentry 'c' { search --fs-uuid --set=root 1111; linux /k; }
        menuentry 'd' { search --fs-uuid --set=root ABCD; linux /k; }
        menuentry 'e' { linux (tftp,10.0.2.2)/pxe/vmlinuz; initrd (http)/i; }
        menuentry 'f' { loopback loop /iso/x.iso; linux (loop)/casper/vmlinuz; }
        """, uuid: "abcd", env: [("net_default_server", "192.0.2.1")])
        #expect(r.kernels == ["(grub:hd0,gpt3)/vmlinuz", "(grub:hd1,msdos1)/vmlinuz/x/y", "(uuid:1111)/k", "/k", "tftp://10.0.2.2/pxe/vmlinuz", "(grub:loop)/casper/vmlinuz"])
        #expect(r.entries[0].initrds == [.file(device: nil, path: "/i")])
        #expect(r.entries[4].initrds == [.url("http://192.0.2.1/i")])
    }

    @Test func regexpSetsGroups() {
        let i = interpreter().run("""
        regexp --set=ver 'vmlinuz-(.*)' /boot/vmlinuz-6.1.0-13-amd64
        regexp --set 1:major --set 2:minor '^([0-9]+)\\.([0-9]+)' 6.10.3
        regexp 'x' abc
        """)
        #expect(i["ver"] == "6.1.0-13-amd64")
        #expect(i["major"] == "6" && i["minor"] == "10")
        #expect(i.status == 1)
    }

    @Test func unknownCommandsWarnAndSetStatus() {
        let r = grub("hwmatch /x 3\nif hwmatch; then set timeout=1; else set timeout=2; fi\ninsmod gzio\nloadfont unicode\nterminal_output gfxterm\n")
        #expect(r.timeout == 2)
        #expect(r.diagnostics.filter { $0.severity == .warning }.map(\.message) == ["unknown command 'hwmatch'", "unknown command 'hwmatch'"])
        #expect(r.diagnostics.first?.location?.line == 1)
    }

    @Test func evalRunsText() {
        let i = interpreter().run("eval set x=1 \\; set y=2")
        #expect(i["x"] == "1" && i["y"] == "2")
    }
}
