import Testing
import KexbootCore
@testable import KexbootConfig

private func syslinux(_ text: String, files: [String: String] = [:], path: String = "/boot/syslinux/syslinux.cfg",
                      env: [(String, String)] = []) throws -> ParseResult {
    var all = files
    all[path] = text
    return try ConfigParser(env: env, platform: testPlatform).parse(files: MemoryFileSource(all), config: path)
}

@Suite struct SyslinuxTests {
    @Test func labelsKernelsInitrdsAndAppend() throws {
        let r = try syslinux("""
        default second
        append quiet
        label first
          menu label ^First entry
          kernel vmlinuz ro
          initrd a.img, b.img
        label second
          LINUX /abs/vmlinuz
          APPEND root=/dev/sda1   initrd=x.img,y.img  splash
          FDT dtbs/board.dtb
        label nothing
          linux vmlinuz
          append -
        """)
        #expect(r.format == .syslinux)
        #expect(r.entries.map(\.id) == ["first", "second", "nothing"])
        #expect(r.entries.map(\.title) == ["First entry", "second", "nothing"])
        #expect(r.defaultIndex == 1)
        let first = r.entries[0]
        #expect(first.kernel == .file(device: nil, path: "/boot/syslinux/vmlinuz"))
        #expect(first.initrds == [.file(device: nil, path: "/boot/syslinux/a.img"), .file(device: nil, path: "/boot/syslinux/b.img")])
        // KERNEL's own arguments, then the global APPEND.
        #expect(first.args == "ro quiet")
        let second = r.entries[1]
        #expect(second.kernel == .file(device: nil, path: "/abs/vmlinuz"))
        #expect(second.initrds.map(\.path) == ["/boot/syslinux/x.img", "/boot/syslinux/y.img"])
        #expect(second.args == "root=/dev/sda1 splash")
        #expect(second.devicetree == .file(device: nil, path: "/boot/syslinux/dtbs/board.dtb"))
        #expect(r.entries[2].args == "")
    }

    @Test(arguments: [("TIMEOUT 50", 5), ("TIMEOUT 51", 6), ("TIMEOUT 1", 1), ("TIMEOUT 0", -1), ("TOTALTIMEOUT 300", 30)])
    func timeoutsInTenths(line: String, expected: Int) throws {
        #expect(try syslinux(line + "\nlabel a\n kernel k\n").timeout == expected)
    }

    @Test func menuDefaultHideLocalbootModulesAndText() throws {
        let r = try syslinux("""
        UI vesamenu.c32
        DEFAULT vesamenu.c32
        MENU TITLE Installer
        LABEL install
          MENU LABEL ^Install
          KERNEL /install/vmlinuz
          APPEND vga=788 initrd=/install/initrd.gz --- quiet
        LABEL expert
          MENU DEFAULT
          KERNEL /install/vmlinuz
          APPEND priority=low
          TEXT HELP
          label inside help text is ignored
          ENDTEXT
        LABEL hidden
          MENU HIDE
          KERNEL /hidden
        LABEL hd
          LOCALBOOT 0x80
        LABEL hdt
          COM32 hdt.c32
        LABEL memtest
          KERNEL /memtest.bin
        """)
        #expect(r.entries.map(\.id) == ["install", "expert"])
        #expect(r.defaultIndex == 1)
        #expect(r.entries[0].initrds == [.file(device: nil, path: "/install/initrd.gz")])
        #expect(r.entries[0].args == "vga=788 --- quiet")
        #expect(r.has(.info, "MENU HIDE"))
        #expect(r.has(.info, "LOCALBOOT"))
        #expect(r.has(.info, "hdt.c32 is a syslinux module"))
        #expect(r.has(.info, "memtest.bin is not a Linux kernel"))
    }

    @Test func mbootIsMultiboot() throws {
        let r = try syslinux("label xen\n kernel mboot.c32\n append xen.gz dom0_mem=1G --- vmlinuz root=/dev/sda1 --- initrd.img\n")
        let xen = try #require(r.entries.first)
        #expect(xen.kind == .multiboot)
        #expect(xen.kernel?.path == "/boot/syslinux/xen.gz" && xen.args == "dom0_mem=1G")
        #expect(xen.modules.map(\.args) == ["root=/dev/sda1", ""])
        #expect(xen.modules.map(\.resource.path) == ["/boot/syslinux/vmlinuz", "/boot/syslinux/initrd.img"])
    }

    @Test func includesNestAndLoopsStop() throws {
        let r = try syslinux("include menu.cfg\nMENU INCLUDE more.cfg\ninclude loop.cfg\ninclude missing.cfg\n", files: [
            "/boot/syslinux/menu.cfg": "label a\n kernel a\ninclude sub/inner.cfg\n",
            "/boot/syslinux/sub/inner.cfg": "label b\n kernel b\n",
            "/boot/syslinux/more.cfg": "label c\n kernel c\n",
            "/boot/syslinux/loop.cfg": "include loop.cfg\n",
        ])
        #expect(r.entries.map(\.id) == ["a", "b", "c"])
        // Relative to the working directory, not to the including file.
        #expect(r.entries[1].kernel?.path == "/boot/syslinux/b")
        #expect(r.has(.error, "nested more than"))
        #expect(r.has(.warning, "missing.cfg"))
    }

    @Test func configSwitchesFileAndDirectory() throws {
        // Outside a label CONFIG switches at once; what came before and after is dropped.
        let r = try syslinux("default x\nCONFIG /isolinux/real.cfg /isolinux\nlabel never\n kernel never\n", files: [
            "/isolinux/real.cfg": "label new\n kernel vmlinuz\n",
        ])
        #expect(r.entries.map(\.id) == ["new"])
        #expect(r.entries[0].kernel?.path == "/isolinux/vmlinuz")
    }

    @Test func ipappendUsesTheNetworkVariables() throws {
        let env = [("net_default_mac", "52:54:00:12:34:56"), ("net_default_ip", "10.0.2.15"),
                   ("net_default_server", "10.0.2.2"), ("net_default_gateway", "10.0.2.2"), ("net_default_netmask", "255.255.255.0")]
        let r = try syslinux("label a\n kernel k\n append quiet\n ipappend 3\nlabel b\n kernel k\n sysappend 2\n", env: env)
        #expect(r.entries[0].args == "quiet ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0 BOOTIF=01-52-54-00-12-34-56")
        #expect(r.entries[1].args == "BOOTIF=01-52-54-00-12-34-56")
    }

    @Test func pxelinuxResolvesAgainstTheTFTPPrefix() throws {
        let r = try syslinux("default linux\nlabel linux\n kernel images/vmlinuz\n append initrd=images/initrd.img\n",
                             path: "/tftp/pxelinux.cfg/default")
        #expect(r.format == .pxelinux)
        #expect(r.entries[0].kernel?.path == "/tftp/images/vmlinuz")
        #expect(r.entries[0].initrds.map(\.path) == ["/tftp/images/initrd.img"])
    }

    @Test func alignedColumnsAndHugeTimeouts() throws {
        let r = try syslinux("DEFAULT   linux\nTIMEOUT 9223372036854775807\nLABEL   other\n  KERNEL\t/other\nLABEL\tlinux\n  KERNEL   /vmlinuz\n")
        #expect(r.entries.map(\.id) == ["other", "linux"])
        #expect(r.entries[0].kernel?.path == "/other")
        #expect(r.defaultIndex == 1)
        #expect(r.timeout == 922337203685477581)
        let y = try ConfigParser(platform: testPlatform).parse(files: MemoryFileSource(["/etc/yaboot.conf": "timeout=9223372036854775807\nimage=/v\n"]))
        #expect(y.timeout == 922337203685477581)
    }

    @Test func brokenInputIsDiagnostics() throws {
        let r = try syslinux("kernel before-any-label\nTIMEOUT soon\nfrobnicate x\nDEFAULT nope\nlabel a\n kernel a\n\u{0}\u{ff}garbage\n")
        #expect(r.entries.map(\.id) == ["a"])
        #expect(r.has(.warning, "outside a LABEL"))
        #expect(r.has(.warning, "TIMEOUT 'soon'"))
        #expect(r.has(.info, "unknown keyword 'frobnicate'"))
        #expect(r.has(.warning, "DEFAULT 'nope' names no label"))
        #expect(r.defaultIndex == 0)
    }

    @Test func foundInStandardLocations() throws {
        let files = MemoryFileSource(["/ISOLINUX/ISOLINUX.CFG": "label live\n kernel /live/vmlinuz\n"])
        let r = try ConfigParser(platform: testPlatform).parse(files: files)
        #expect(r.format == .syslinux && r.config == "/ISOLINUX/ISOLINUX.CFG")
        #expect(r.entries[0].kernel?.path == "/live/vmlinuz")
    }
}

@Suite struct SyslinuxMenuTests {
    @Test func submenusAndConfigInsideALabel() throws {
        let r = try ConfigParser(platform: testPlatform).parse(files: MemoryFileSource(["/syslinux.cfg": """
        label top
          kernel /top
        menu begin tools
          menu label ^Tools
          label memtest
            linux /memtest
          menu begin deeper
            menu title Deeper
            label deep
              linux /deep
          menu end
        menu end
        label other
          menu label Other menu
          config other.cfg
        label after
          linux /after
        """]))
        #expect(r.entries.map(\.path) == [["top"], ["Tools", "memtest"], ["Tools", "Deeper", "deep"], ["after"]])
        #expect(r.has(.info, "'Other menu' left out: it opens another menu"))
    }
}
