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
        ("[ -z \"\" ]", true), ("[ x ]", true), ("[ \"\" ]", false), ("[ ]", false),
        ("[ 10 -gt 9 ]", true), ("[ 010 -eq 8 ]", true), ("[ 0x10 -eq 16 ]", true), ("[ -3 -lt 2 ]", true),
        ("[ 5 -ge 5 -a 4 -le 3 ]", false), ("[ 5 -ge 5 -o 4 -le 3 ]", true), ("[ ! a = b ]", true),
        ("[ ( a = b -o c = c ) -a d = d ]", true), ("[ a \"<\" b ]", true), ("[ b \">=\" c ]", false),
        ("[ vmlinuz-6.10 -pgt vmlinuz-6.9 ]", true), ("[ vmlinuz-6.10 -plt vmlinuz-6.9 ]", false),
        ("[ -e /boot/vmlinuz ]", true), ("[ -f /boot/vmlinuz ]", true), ("[ -d /boot ]", true), ("[ -f /boot ]", false),
        ("[ -s /boot/empty ]", false), ("[ -e /boot/empty ]", true), ("[ -e /missing ]", false),
        ("[ -e ($root)/boot/vmlinuz ]", true), ("[ -e (hd9,gpt9)/boot/vmlinuz ]", false),
        ("[ -s $prefix/grubenv ]", true), ("[ x$feature_platform_search_hint = xy ]", true),
        ("[ a = a", false),
    ])
    func testBuiltin(script: String, expected: Bool) {
        let i = interpreter(files: ["/boot/vmlinuz": "k", "/boot/empty": "", "/boot/grub/grubenv": "# GRUB Environment Block\n"])
        i.run(script)
        #expect((i.status == 0) == expected, "\(script)")
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
