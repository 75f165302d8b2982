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
        #expect(r.has(.info, "'hd' left out: it uses 'LOCALBOOT 0x80' (a local boot), which kexec cannot boot"))
        #expect(r.has(.info, "'hdt' left out: it uses 'COM32 hdt.c32' (a COM32 module), which kexec cannot boot"))
        #expect(r.has(.info, "'memtest' left out: it uses 'KERNEL /memtest.bin' (a boot sector, by its extension), which kexec cannot boot"))
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
        """, "/other.cfg": "label o\n linux /o\n"]))
        #expect(r.entries.map(\.path) == [["top"], ["Tools", "memtest"], ["Tools", "Deeper", "deep"], ["Other menu", "o"], ["after"]])
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

/// Issue 19: what a label runs, by syslinux.cfg(5)'s kernel-like directives and KERNEL's
/// file extensions.
@Suite struct SyslinuxImageTests {
    @Test(arguments: [
        ("COM32 menu.c32", "COM32 menu.c32' (a COM32 module)"),
        ("COM32 /boot/syslinux/chain.c32 hd0 1", "COM32 /boot/syslinux/chain.c32 hd0 1' (a COM32 module)"),
        ("COMBOOT reboot.com", "COMBOOT reboot.com' (a COMBOOT program)"),
        ("BOOT dos.bs", "BOOT dos.bs' (a boot sector)"),
        ("BSS dos.bss", "BSS dos.bss' (a boot sector)"),
        ("FDIMAGE floppy.img", "FDIMAGE floppy.img' (a floppy image)"),
        ("PXE gpxelinux.0", "PXE gpxelinux.0' (a PXE network boot program)"),
        ("LOCALBOOT -1", "LOCALBOOT -1' (a local boot)"),
        ("KERNEL reboot.c32", "KERNEL reboot.c32' (a COM32 module, by its extension)"),
        ("KERNEL memdisk.cbt", "KERNEL memdisk.cbt' (a COMBOOT program, by its extension)"),
        ("KERNEL hdt.COM", "KERNEL hdt.COM' (a COMBOOT program, by its extension)"),
        ("KERNEL /boot/memtest.bin", "KERNEL /boot/memtest.bin' (a boot sector, by its extension)"),
        ("KERNEL mbr.bs", "KERNEL mbr.bs' (a boot sector, by its extension)"),
        ("KERNEL dos.bss", "KERNEL dos.bss' (a boot sector, by its extension)"),
        ("KERNEL freedos.img", "KERNEL freedos.img' (a floppy image, by its extension)"),
        ("KERNEL undionly.0", "KERNEL undionly.0' (a PXE network boot program, by its extension)"),
    ])
    func leftOutWithoutShiftingTheDefault(line: String, message: String) throws {
        let r = try syslinux("DEFAULT linux\nLABEL other\n  \(line)\nLABEL linux\n  KERNEL vmlinuz\n  APPEND quiet\n")
        #expect(r.entries.map(\.id) == ["linux"])
        #expect(r.defaultIndex == 0)
        let info = try #require(r.diagnostics.first { $0.message.contains(message) })
        #expect(info.severity == .info)
        #expect(info.message == "'other' left out: it uses '\(message), which kexec cannot boot")
        #expect(info.location == SourceLocation(file: "/boot/syslinux/syslinux.cfg", line: 2, column: 1))
        #expect(!r.has(.warning, "DEFAULT"))
    }

    @Test func theIssuesExampleAnFdimageBeforeTheDefault() throws {
        // Before, the FDIMAGE label was a Linux entry at index 0 and MENU DEFAULT's entry 2.
        let r = try syslinux("""
        LABEL floppy
          MENU LABEL FreeDOS floppy
          FDIMAGE /images/freedos.img
        LABEL rescue
          LINUX /rescue/vmlinuz
        LABEL install
          MENU DEFAULT
          LINUX /install/vmlinuz
        """)
        #expect(r.entries.map(\.id) == ["rescue", "install"])
        #expect(r.defaultIndex == 1)
        #expect(r.has(.info, "'FreeDOS floppy' left out: it uses 'FDIMAGE /images/freedos.img' (a floppy image)"))
    }

    @Test func linuxIsALinuxKernelWhateverItsName() throws {
        // LINUX never goes by the extension; KERNEL of a name with no known extension is Linux.
        let r = try syslinux("LABEL a\n LINUX memdisk.img\nLABEL b\n KERNEL vmlinuz-6.1.0.x86_64\nLABEL c\n KERNEL bzImage.efi\nLABEL d\n KERNEL memdisk\n")
        #expect(r.entries.map(\.id) == ["a", "b", "c", "d"])
        #expect(r.entries.allSatisfy { $0.kind == .linux })
    }

    @Test func mbootIsMultibootByKeywordOrExtension() throws {
        let r = try syslinux("LABEL a\n COM32 mboot.c32\n APPEND xen.gz --- vmlinuz\nLABEL b\n KERNEL /boot/MBOOT.C32 xen.gz --- vmlinuz\n")
        #expect(r.entries.map(\.kind) == [.multiboot, .multiboot])
        #expect(r.entries.map { $0.kernel?.path } == ["/boot/syslinux/xen.gz", "/boot/syslinux/xen.gz"])
    }

    @Test func theLastKernelLikeDirectiveWins() throws {
        let r = try syslinux("""
        LABEL local-then-kernel
          LOCALBOOT 0
          KERNEL /vmlinuz
        LABEL kernel-then-com32
          KERNEL /vmlinuz
          COM32 menu.c32
        LABEL kernel-then-config
          KERNEL /vmlinuz
          CONFIG other.cfg
        LABEL config-then-kernel
          CONFIG other.cfg
          LINUX /vmlinuz
        """, files: ["/boot/syslinux/other.cfg": "LABEL o\n KERNEL /o\n"])
        #expect(r.entries.map(\.path) == [["local-then-kernel"], ["kernel-then-config", "o"], ["config-then-kernel"]])
        #expect(r.has(.info, "'kernel-then-com32' left out: it uses 'COM32 menu.c32'"))
    }

    @Test func aDefaultThatNamesALabelLeftOut() throws {
        let r = try syslinux("DEFAULT hd\nLABEL hd\n LOCALBOOT 0x80\nLABEL linux\n KERNEL vmlinuz\n")
        #expect(r.entries.map(\.id) == ["linux"])
        #expect(r.defaultIndex == 0)
        let warning = try #require(r.diagnostics.first { $0.severity == .warning })
        #expect(warning.message == "default 'hd' names an entry kexec cannot boot; using the first entry")
        #expect(warning.location == SourceLocation(file: "/boot/syslinux/syslinux.cfg", line: 1, column: 1))
    }
}

/// Issue 19: `CONFIG file [dir]` in a label is a submenu of that file's entries.
@Suite struct SyslinuxConfigLabelTests {
    @Test func aSubmenuTitledByTheLabel() throws {
        let r = try syslinux("""
        DEFAULT main
        LABEL main
          KERNEL /vmlinuz
        MENU BEGIN more
          MENU LABEL More
          LABEL rescue
            MENU LABEL ^Rescue tools
            CONFIG rescue/rescue.cfg
        MENU END
        LABEL after
          KERNEL /after
        """, files: [
            "/boot/syslinux/rescue/rescue.cfg": """
            DEFAULT shell
            TIMEOUT 1
            LABEL memtest
              KERNEL memtest.bin
            LABEL live
              KERNEL rescue/vmlinuz
              INITRD rescue/initrd.img
            MENU BEGIN deeper
              LABEL shell
                KERNEL rescue/vmlinuz
                APPEND init=/bin/sh
            MENU END
            """,
        ])
        #expect(r.entries.map(\.path) == [["main"], ["More", "Rescue tools", "live"], ["More", "Rescue tools", "deeper", "shell"], ["after"]])
        // Without a directory the names inside stay relative to the working directory.
        #expect(r.entries[1].kernel?.path == "/boot/syslinux/rescue/vmlinuz")
        #expect(r.entries[1].initrds.map(\.path) == ["/boot/syslinux/rescue/initrd.img"])
        #expect(r.entries[2].args == "init=/bin/sh")
        #expect(r.defaultIndex == 0)
        // The other file's TIMEOUT is its own menu's, not this one's.
        #expect(r.timeout == nil)
        let left = try #require(r.diagnostics.first { $0.message.contains("memtest.bin") })
        #expect(left.location?.file == "/boot/syslinux/rescue/rescue.cfg" && left.location?.line == 3)
    }

    @Test func aDirectoryOnTheConfigLineOrInAppend() throws {
        let files = [
            "/boot/syslinux/live/live.cfg": "LABEL live\n KERNEL vmlinuz\n APPEND initrd=initrd.img\nINCLUDE more.cfg\n",
            "/live/more.cfg": "LABEL more\n KERNEL /abs/vmlinuz\n",
            "/live/vmlinuz": "", "/live/initrd.img": "",
        ]
        // The file is found from the current directory; its names from the new one.
        for text in ["LABEL l\n CONFIG live/live.cfg /live\n", "LABEL l\n CONFIG live/live.cfg\n APPEND /live\n",
                     "APPEND /live\nLABEL l\n CONFIG live/live.cfg\n"] {
            let r = try syslinux(text, files: files)
            #expect(r.entries.map(\.path) == [["l", "live"], ["l", "more"]], "\(text)")
            #expect(r.entries.first?.kernel == .file(device: nil, path: "/live/vmlinuz"))
            #expect(r.entries.first?.initrds == [.file(device: nil, path: "/live/initrd.img")])
            #expect(r.entries.last?.kernel == .file(device: nil, path: "/abs/vmlinuz"))
        }
        // `APPEND -` in the label: no directory change.
        let r = try syslinux("APPEND /live\nLABEL l\n CONFIG live/live.cfg\n APPEND -\n", files: files)
        #expect(r.entries.first?.kernel == .file(device: nil, path: "/boot/syslinux/vmlinuz"))
    }

    @Test func theDefaultCanBeTheSubmenu() throws {
        let files = ["/boot/syslinux/sub.cfg": "DEFAULT two\nLABEL one\n KERNEL /one\nLABEL two\n KERNEL /two\n",
                     "/boot/syslinux/nodefault.cfg": "LABEL x\n KERNEL /x\nLABEL y\n KERNEL /y\n"]
        // The label DEFAULT names opens a menu: that menu's default is what autoboot boots.
        var r = try syslinux("DEFAULT sub\nLABEL first\n KERNEL /first\nLABEL sub\n CONFIG sub.cfg\n", files: files)
        #expect(r.entries.map(\.id) == ["first", "one", "two"])
        #expect(r.defaultIndex == 2)
        // A menu without a default: its first entry.
        r = try syslinux("LABEL first\n KERNEL /first\nLABEL sub\n MENU DEFAULT\n CONFIG nodefault.cfg\n", files: files)
        #expect(r.defaultIndex == 1)
        // Ids stay unique across the files.
        r = try syslinux("LABEL one\n KERNEL /first\nLABEL sub\n CONFIG sub.cfg\n", files: files)
        #expect(r.entries.map(\.id) == ["one", "one#2", "two"])
    }

    @Test func emptyMissingAndBackMenus() throws {
        let r = try syslinux("""
        LABEL help
          MENU LABEL Help
          CONFIG prompt.cfg
        LABEL missing
          CONFIG nowhere.cfg
        LABEL tools
          CONFIG tools.cfg
        LABEL linux
          KERNEL /vmlinuz
        """, files: ["/boot/syslinux/prompt.cfg": "PROMPT 1\nDISPLAY f1.txt\n",
                     "/boot/syslinux/tools.cfg": "LABEL t\n KERNEL /t\nLABEL back\n MENU LABEL Back\n CONFIG /boot/syslinux/syslinux.cfg\n"])
        #expect(r.has(.info, "'Help' left out: the menu it opens (prompt.cfg) has no entry kexec can boot"))
        let missing = try #require(r.diagnostics.first { $0.message.contains("nowhere.cfg: no such file") })
        #expect(missing.severity == .warning && missing.location?.line == 5)
        // "Back" to a menu it is in: no submenu (it would repeat the whole menu inside itself).
        #expect(r.entries.map(\.path) == [["tools", "t"], ["linux"]])
        let back = try #require(r.diagnostics.first { $0.message.contains("'Back' left out") })
        #expect(back.message == "'Back' left out: it goes back to the menu of /boot/syslinux/syslinux.cfg, which this one is in")
        #expect(back.severity == .info && back.location == SourceLocation(file: "/boot/syslinux/tools.cfg", line: 3, column: 1))
    }

    @Test func menusNestAtMost16Deep() throws {
        var files: [String: String] = [:]
        for i in 1...20 { files["/boot/syslinux/m\(i).cfg"] = "LABEL e\(i)\n KERNEL /v\(i)\nLABEL next\n CONFIG m\(i + 1).cfg\n" }
        let r = try syslinux("LABEL next\n CONFIG m1.cfg\n", files: files)
        #expect(r.entries.map(\.id) == (1...16).map { "e\($0)" })
        #expect(r.entries.last?.path == Array(repeating: "next", count: 16) + ["e16"])
        let deep = try #require(r.diagnostics.first { $0.message.contains("menus nested more than 16 deep") })
        #expect(deep.severity == .error && deep.location == SourceLocation(file: "/boot/syslinux/m16.cfg", line: 4, column: 2))
    }

    @Test func eachMenuReadCountsTowardTheFilesCap() throws {
        // Eight levels of menus, each with three labels that open the next: 3 + 9 + … + 3⁸ reads.
        var files: [String: String] = [:]
        for i in 0..<9 {
            files["/boot/syslinux/l\(i).cfg"] = "LABEL a\n KERNEL /vmlinuz\n" + (i == 8 ? "" : (1...3).map { "LABEL x\($0)\n CONFIG l\(i + 1).cfg\n" }.joined())
        }
        let r = try syslinux(files["/boot/syslinux/l0.cfg"]!, files: files)
        #expect(r.entries.count == 1 + ConfigLimits.maxIncludedFiles)
        let stop = try #require(r.diagnostics.first { $0.message.contains("more than \(ConfigLimits.maxIncludedFiles) files included in all") })
        #expect(stop.severity == .error && [4, 6, 8].contains(stop.location?.line))
        #expect(r.diagnostics.filter { $0.message.contains("files included in all") }.count == 1)
    }

    @Test func labelsOfEveryMenuCountTowardTheEntryLimit() throws {
        var sub = ""
        for i in 0..<(ConfigLimits.maxEntries - 1) { sub += "LABEL s\(i)\n KERNEL /vmlinuz\n" }
        let r = try syslinux("LABEL a\n KERNEL /a\nLABEL sub\n CONFIG sub.cfg\nLABEL b\n KERNEL /b\n", files: ["/boot/syslinux/sub.cfg": sub + "LABEL over\n KERNEL /x\n"])
        // Labels in all: a, sub, b and the first maxEntries - 3 of sub.cfg's; "sub" is no entry.
        #expect(r.entries.count == ConfigLimits.maxEntries - 1)
        #expect(r.has(.error, "more than \(ConfigLimits.maxEntries) entries"))
        #expect(r.entries.last?.id == "b")
    }

    @Test func aTopLevelConfigStillSwitches() throws {
        // syslinux.cfg(5) describes CONFIG as a LABEL's directive only; outside one kexboot
        // keeps switching to the file (the name relative to the old directory).
        let r = try syslinux("LABEL gone\n KERNEL /gone\nCONFIG sub/real.cfg /other\n", files: ["/boot/syslinux/sub/real.cfg": "LABEL r\n KERNEL vmlinuz\n"])
        #expect(r.entries.map(\.id) == ["r"])
        #expect(r.entries[0].kernel?.path == "/other/vmlinuz")
    }
}

/// Issue 19: pxelinux puts its path prefix in front of every name but `::path`,
/// `host::path` and URLs.
@Suite struct PxelinuxPrefixTests {
    private func pxelinux(_ text: String, prefix: String? = nil, files: [String: String] = [:]) throws -> ParseResult {
        var all = files
        all["/tftp/path/to/pxelinux.cfg/default"] = text
        return try ConfigParser(platform: testPlatform, prefix: prefix).parse(files: MemoryFileSource(all), config: "/tftp/path/to/pxelinux.cfg/default")
    }

    static let text = """
    LABEL l
      KERNEL /vmlinuz
      INITRD /initrd,images/extra.img
      APPEND initrd=//more.img quiet
      FDT /dtbs/board.dtb
    LABEL root
      KERNEL ::/vmlinuz
      INITRD ::initrd
    LABEL host
      KERNEL 192.0.2.9::/vmlinuz
    LABEL url
      KERNEL http://192.0.2.9/vmlinuz
    """

    @Test func aLeadingSlashIsUnderThePrefix() throws {
        let r = try pxelinux(Self.text)
        #expect(r.entries[0].kernel == .file(device: nil, path: "/tftp/path/to/vmlinuz"))
        #expect(r.entries[0].initrds.map(\.path) == ["/tftp/path/to/initrd", "/tftp/path/to/images/extra.img", "/tftp/path/to/more.img"])
        #expect(r.entries[0].devicetree == .file(device: nil, path: "/tftp/path/to/dtbs/board.dtb"))
        #expect(r.entries[0].args == "quiet")
        #expect(r.entries[1].kernel == .file(device: nil, path: "/vmlinuz"))
        #expect(r.entries[1].initrds == [.file(device: nil, path: "/initrd")])
        #expect(r.entries[2].kernel == .url("tftp://192.0.2.9/vmlinuz"))
        #expect(r.entries[3].kernel == .url("http://192.0.2.9/vmlinuz"))
    }

    @Test func aURLPrefix() throws {
        let r = try pxelinux(Self.text, prefix: "tftp://192.0.2.1/path/to/")
        #expect(r.entries[0].kernel == .url("tftp://192.0.2.1/path/to/vmlinuz"))
        #expect(r.entries[0].initrds == [.url("tftp://192.0.2.1/path/to/initrd"), .url("tftp://192.0.2.1/path/to/images/extra.img"),
                                         .url("tftp://192.0.2.1/path/to/more.img")])
        #expect(r.entries[1].kernel == .url("tftp://192.0.2.1/vmlinuz"))
        #expect(r.entries[2].kernel == .url("tftp://192.0.2.9/vmlinuz"))
        #expect(r.entries[3].kernel == .url("http://192.0.2.9/vmlinuz"))
    }

    @Test func filesTheConfigReadsAreUnderThePrefixToo() throws {
        let r = try pxelinux("INCLUDE /menus/main.cfg\nINCLUDE ::/common.cfg\nLABEL sub\n CONFIG /menus/sub.cfg /sub\n", files: [
            "/tftp/path/to/menus/main.cfg": "LABEL main\n KERNEL /vmlinuz\n",
            "/common.cfg": "LABEL common\n KERNEL vmlinuz\n",
            "/tftp/path/to/menus/sub.cfg": "LABEL s\n KERNEL /vmlinuz\n",
        ])
        #expect(r.entries.map(\.path) == [["main"], ["common"], ["sub", "s"]])
        #expect(r.entries.map { $0.kernel?.path } == ["/tftp/path/to/vmlinuz", "/tftp/path/to/vmlinuz", "/tftp/path/to/sub/vmlinuz"])
        // syslinux proper: `/` is the filesystem's root.
        let plain = try syslinux("LABEL a\n KERNEL /vmlinuz\n INITRD /initrd\n", path: "/boot/syslinux/syslinux.cfg")
        #expect(plain.entries[0].initrds == [.file(device: nil, path: "/initrd")])
    }
}
