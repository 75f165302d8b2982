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

    @Test func fdtdirPicksTheMachinesDTB() throws {
        let text = """
        label arm
          kernel /Image
          fdtdir /dtbs/
        label explicit
          kernel /Image
          fdtdir /dtbs
          fdt /other.dtb
        """
        let files = ["/dtbs/rockchip/rk3399-rockpro64.dtb": "dtb", "/dtbs/am335x-boneblack.dtb": "dtb"]
        // fdtfile, as U-Boot's environment names it, wins.
        var r = try syslinux(text, files: files, env: [("fdtfile", "rockchip/rk3399-rockpro64.dtb")])
        #expect(r.entries[0].devicetree == .file(device: nil, path: "/dtbs/rockchip/rk3399-rockpro64.dtb"))
        #expect(r.entries[1].devicetree == .file(device: nil, path: "/other.dtb"))
        // The running tree's compatible strings: vendor/board.dtb (arm64) …
        r = try syslinux(text, files: files, env: [("fdt_compatible", "pine64,rockpro64-v2.1 rockchip,rk3399-rockpro64 rockchip,rk3399")])
        #expect(r.entries[0].devicetree == .file(device: nil, path: "/dtbs/rockchip/rk3399-rockpro64.dtb"))
        // … or board.dtb (32-bit ARM's flat directory).
        r = try syslinux(text, files: files, env: [("fdt_compatible", "ti,am335x-boneblack ti,am33xx")])
        #expect(r.entries[0].devicetree == .file(device: nil, path: "/dtbs/am335x-boneblack.dtb"))
        // No DTB for this machine: the running tree is kept, with a warning.
        r = try syslinux(text, files: files, env: [("fdt_compatible", "acme,unknown")])
        #expect(r.entries[0].devicetree == nil)
        #expect(r.diagnostics.contains { $0.severity == .warning && $0.message.contains("FDTDIR /dtbs/ has no DTB for acme,unknown") && $0.location?.line == 1 })
        // Nothing known about the machine (x86): info only.
        r = try syslinux(text, files: files)
        #expect(r.entries[0].devicetree == nil)
        #expect(r.diagnostics.contains { $0.severity == .info && $0.message.contains("FDTDIR") })
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

@Suite struct PxelinuxTests {
    private func pxelinux(_ text: String, path: String = "/tftp/boot/pxelinux.cfg/default", env: [(String, String)] = [],
                          prefix: String? = nil, files: [String: String] = [:]) throws -> ParseResult {
        var all = files
        all[path] = text
        return try ConfigParser(env: env, platform: testPlatform, prefix: prefix).parse(files: MemoryFileSource(all), config: path)
    }

    @Test func doubleColonNamesAFileFromTheServerRoot() throws {
        let r = try pxelinux("""
        DEFAULT abs
        LABEL abs
          KERNEL ::/images/vmlinuz
          INITRD ::images/initrd.img,::/images//extra.img
          APPEND initrd=::/images/more.img root=/dev/nfs
        LABEL rel
          KERNEL images/vmlinuz
          APPEND initrd=images/initrd.img
        LABEL other-server
          KERNEL 192.0.2.1::boot/vmlinuz
          APPEND initrd=tftp.example.com::/boot/initrd.img
        LABEL urls
          KERNEL http://boot.example.com/vmlinuz
          APPEND initrd=tftp://10.0.0.1/initrd.img
        """)
        #expect(r.format == .pxelinux)
        let abs = r.entries[0]
        #expect(abs.kernel == .file(device: nil, path: "/images/vmlinuz"))
        #expect(abs.initrds == [.file(device: nil, path: "/images/initrd.img"), .file(device: nil, path: "/images/extra.img"),
                                .file(device: nil, path: "/images/more.img")])
        #expect(abs.args == "root=/dev/nfs")
        // Without `::` the TFTP prefix (the parent of pxelinux.cfg/) applies.
        #expect(r.entries[1].kernel == .file(device: nil, path: "/tftp/boot/images/vmlinuz"))
        #expect(r.entries[1].initrds == [.file(device: nil, path: "/tftp/boot/images/initrd.img")])
        #expect(r.entries[2].kernel == .url("tftp://192.0.2.1/boot/vmlinuz"))
        #expect(r.entries[2].initrds == [.url("tftp://tftp.example.com/boot/initrd.img")])
        #expect(r.entries[3].kernel == .url("http://boot.example.com/vmlinuz"))
        #expect(r.entries[3].initrds == [.url("tftp://10.0.0.1/initrd.img")])
        // syslinux proper has no such names.
        let plain = try syslinux("label a\n kernel ::/x\n")
        #expect(plain.entries[0].kernel == .file(device: nil, path: "/boot/syslinux/::/x"))
    }

    @Test func anExplicitPrefixReplacesTheParentOfPxelinuxCfg() throws {
        let text = "LABEL l\n KERNEL images/vmlinuz\n APPEND initrd=../common/initrd.img quiet\nLABEL root\n KERNEL ::boot/vmlinuz\n"
        let directory = try pxelinux(text, prefix: "/srv/netboot/")
        #expect(directory.entries[0].kernel == .file(device: nil, path: "/srv/netboot/images/vmlinuz"))
        #expect(directory.entries[0].initrds == [.file(device: nil, path: "/srv/common/initrd.img")])
        #expect(directory.entries[1].kernel == .file(device: nil, path: "/boot/vmlinuz"))
        // DHCP option 210 as a URL (lpxelinux): relative names become URLs on that server.
        let url = try pxelinux(text, prefix: "http://10.0.0.1/netboot/bookworm")
        #expect(url.entries[0].kernel == .url("http://10.0.0.1/netboot/bookworm/images/vmlinuz"))
        #expect(url.entries[0].initrds == [.url("http://10.0.0.1/netboot/common/initrd.img")])
        #expect(url.entries[1].kernel == .url("http://10.0.0.1/boot/vmlinuz"))
        #expect(url.entries[0].args == "quiet")
        // SyslinuxConfig takes it directly too; includes still come from the filesystem.
        let files = MemoryFileSource(["/tftp/pxelinux.cfg/default": "INCLUDE pxelinux.cfg/menu.cfg\n",
                                      "/tftp/pxelinux.cfg/menu.cfg": "LABEL m\n KERNEL m/vmlinuz\n"])
        let direct = try SyslinuxConfig.parse(path: "/tftp/pxelinux.cfg/default", files: files, format: .pxelinux,
                                              workingDirectory: "tftp://10.0.0.1/tftp/")
        #expect(direct.entries.map(\.kernel) == [.url("tftp://10.0.0.1/tftp/m/vmlinuz")])
        let included = try SyslinuxConfig.parse(path: "/tftp/pxelinux.cfg/default", files: files, format: .pxelinux, workingDirectory: "/tftp")
        #expect(included.entries.map(\.kernel) == [.file(device: nil, path: "/tftp/m/vmlinuz")])
        // CONFIG with a new directory: `::` counts from the server's root there too.
        let switched = try pxelinux("CONFIG ::/alt/pxelinux.cfg/other ::alt\n", files: ["/alt/pxelinux.cfg/other": "LABEL o\n KERNEL vmlinuz\n"])
        #expect(switched.entries.map(\.kernel) == [.file(device: nil, path: "/alt/vmlinuz")])
        let switchedURL = try pxelinux("CONFIG ::/alt/pxelinux.cfg/other ::alt\n", prefix: "tftp://10.0.0.1/boot/",
                                       files: ["/alt/pxelinux.cfg/other": "LABEL o\n KERNEL vmlinuz\n"])
        #expect(switchedURL.entries.map(\.kernel) == [.url("tftp://10.0.0.1/alt/vmlinuz")])
    }

    @Test func proxyIsRecordedAndOnlyThenInTheJSON() throws {
        let r = try pxelinux("PROXY http://proxy.example.com:3128/\nLABEL l\n KERNEL vmlinuz\n")
        #expect(r.proxy == "http://proxy.example.com:3128/")
        #expect(r.json["proxy"] == .string("http://proxy.example.com:3128/"))
        #expect(!r.has(.info, "unknown keyword"))
        let none = try pxelinux("LABEL l\n KERNEL vmlinuz\n")
        #expect(none.proxy == nil && none.json["proxy"] == nil)
    }

    @Test func sysappendBits() throws {
        let env = [("net_default_mac", "52:54:00:12:34:56"), ("net_default_ip", "10.0.2.15"), ("net_default_server", "10.0.2.2"),
                   ("net_default_uuid", "B8945908-D6A6-41A9-611D-74A6AB80B83D")]
        let r = try pxelinux("""
        LABEL all
          KERNEL vmlinuz
          APPEND quiet
          SYSAPPEND 7
        LABEL hex
          KERNEL vmlinuz
          SYSAPPEND 0x6
        LABEL dmi
          KERNEL vmlinuz
          SYSAPPEND 0x14
        LABEL bad
          KERNEL vmlinuz
          IPAPPEND two
        """, env: env)
        #expect(r.entries[0].args == "quiet ip=10.0.2.15:10.0.2.2:: BOOTIF=01-52-54-00-12-34-56 SYSUUID=b8945908-d6a6-41a9-611d-74a6ab80b83d")
        #expect(r.entries[1].args == "BOOTIF=01-52-54-00-12-34-56 SYSUUID=b8945908-d6a6-41a9-611d-74a6ab80b83d")
        #expect(r.entries[2].args == "SYSUUID=b8945908-d6a6-41a9-611d-74a6ab80b83d")
        #expect(r.has(.info, "SYSAPPEND 0x14: only ip= (1), BOOTIF= (2) and SYSUUID= (4) are added"))
        #expect(r.has(.warning, "IPAPPEND 'two' is not a number"))
        #expect(r.entries[3].args == "")
        // Without the network variables nothing is added.
        #expect(try pxelinux("LABEL l\n KERNEL k\n SYSAPPEND 7\n").entries[0].args == "")
    }
}
