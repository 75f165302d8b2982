import Testing
import KexbootCore
@testable import KexbootConfig

/// Parses `script` as `path` (next to `files`) the way `kexboot parse --config` would.
private func ipxe(_ script: String, files: [String: String] = [:], path: String = "/tftp/boot.ipxe",
                  env: [(String, String)] = [], prefix: String? = nil) throws -> ParseResult {
    var all = files
    all[path] = script
    return try ConfigParser(env: env, platform: testPlatform, prefix: prefix).parse(files: MemoryFileSource(all), config: path)
}

private let net = [("net_default_mac", "52:54:00:AB:cd:01"), ("net_default_ip", "10.0.2.15"),
                   ("net_default_server", "10.0.2.2"), ("hostname", "node7")]

private func file(_ path: String) -> Resource { .file(device: nil, path: path) }

@Suite struct IPXEStraightLineTests {
    @Test func kernelInitrdBootWithVariables() throws {
        let r = try ipxe("""
        #!ipxe
        dhcp
        set mirror http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images
        set base ${mirror}/netboot/debian-installer/amd64
        kernel ${base}/linux auto=true priority=critical   hostname=${hostname} initrd=initrd.gz
        initrd ${base}/initrd.gz
        boot
        """, env: net)
        #expect(r.format == .ipxe && r.config == "/tftp/boot.ipxe")
        #expect(r.entries.count == 1)
        let e = try #require(r.entries.first)
        let base = "http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64"
        #expect(e.id == "linux" && e.title == "linux" && e.path == ["linux"])
        #expect(e.kind == .linux)
        #expect(e.kernel == .url(base + "/linux"))
        #expect(e.initrds == [.url(base + "/initrd.gz")])
        // iPXE passes its arguments as they are: runs of spaces fold, initrd= stays.
        #expect(e.args == "auto=true priority=critical hostname=node7 initrd=initrd.gz")
        #expect(r.defaultIndex == 0 && r.timeout == nil)
        #expect(r.diagnostics.isEmpty)
    }

    @Test func chainWithArgumentsBootsAtOnce() throws {
        let r = try ipxe("""
        #!ipxe
        initrd http://10.0.0.1/fedora/initrd.img
        chain http://10.0.0.1/fedora/vmlinuz inst.stage2=http://10.0.0.1/fedora ip=dhcp console=ttyS0,115200n8 || goto failed
        kernel http://10.0.0.1/never/vmlinuz
        boot
        :failed
        shell
        """)
        #expect(r.entries.map(\.kernel) == [.url("http://10.0.0.1/fedora/vmlinuz")])
        #expect(r.entries[0].initrds == [.url("http://10.0.0.1/fedora/initrd.img")])
        #expect(r.entries[0].args == "inst.stage2=http://10.0.0.1/fedora ip=dhcp console=ttyS0,115200n8")
        #expect(r.entries[0].id == "vmlinuz")
    }

    @Test func relativeNamesResolveAgainstTheScript() throws {
        let script = """
        #!ipxe
        kernel images/fedora/vmlinuz inst.repo=http://mirror/fedora/
        initrd ../shared/initrd.img
        initrd /abs/extra.img
        initrd ./images/./fedora//updates.img
        boot
        """
        let local = try ipxe(script, path: "/srv/tftp/boot/fedora.ipxe")
        #expect(local.entries[0].kernel == file("/srv/tftp/boot/images/fedora/vmlinuz"))
        #expect(local.entries[0].initrds == [file("/srv/tftp/shared/initrd.img"), file("/abs/extra.img"),
                                             file("/srv/tftp/boot/images/fedora/updates.img")])
        // A prefix (DHCP option 210) that is a URL turns them into URLs on that server.
        let remote = try ipxe(script, path: "/srv/tftp/boot/fedora.ipxe", prefix: "http://boot.example.com/pxe")
        #expect(remote.entries[0].kernel == .url("http://boot.example.com/pxe/images/fedora/vmlinuz"))
        #expect(remote.entries[0].initrds == [.url("http://boot.example.com/shared/initrd.img"), .url("http://boot.example.com/abs/extra.img"),
                                              .url("http://boot.example.com/pxe/images/fedora/updates.img")])
        // A directory prefix replaces the script's directory.
        let moved = try ipxe(script, path: "/srv/tftp/boot/fedora.ipxe", prefix: "/srv/tftp")
        #expect(moved.entries[0].kernel == file("/srv/tftp/images/fedora/vmlinuz"))
    }

    @Test func namedImagesAndImgargs() throws {
        let r = try ipxe("""
        #!ipxe
        kernel --name kern tftp://${next-server}/ubuntu/vmlinuz quiet
        initrd --name initrd tftp://${next-server}/ubuntu/initrd
        imgfetch -n seed tftp://${next-server}/ubuntu/seed.img
        imgfree seed
        imgargs kern initrd=initrd ip=dhcp url=http://${next-server}/ubuntu.iso autoinstall
        boot kern
        """, env: net)
        let e = try #require(r.entries.first)
        #expect(e.id == "kern")
        #expect(e.kernel == .url("tftp://10.0.2.2/ubuntu/vmlinuz"))
        #expect(e.initrds == [.url("tftp://10.0.2.2/ubuntu/initrd")])
        // imgargs replaces the arguments kernel gave.
        #expect(e.args == "initrd=initrd ip=dhcp url=http://10.0.2.2/ubuntu.iso autoinstall")
    }

    @Test func imgargsNamesAnImageByItsFileName() throws {
        let r = try ipxe("""
        #!ipxe
        set server_ip 192.168.1.201
        set path /pxe/template
        kernel http://${server_ip}${path}/vmlinuz
        initrd http://${server_ip}${path}/initrd.img
        imgargs vmlinuz initrd=initrd.img root=/dev/nfs boot=casper netboot=nfs nfsroot=${server_ip}:${path} ip=dhcp splash quiet --
        boot
        """)
        #expect(r.entries[0].args == "initrd=initrd.img root=/dev/nfs boot=casper netboot=nfs nfsroot=192.168.1.201:/pxe/template ip=dhcp splash quiet --")
        #expect(r.entries[0].initrds == [.url("http://192.168.1.201/pxe/template/initrd.img")])
    }

    @Test func aScriptThatEndsWithAKernelSelectedBootsIt() throws {
        let r = try ipxe("#!ipxe\nkernel vmlinuz root=/dev/sda1\ninitrd initrd.img\n")
        #expect(r.entries.map(\.kernel) == [file("/tftp/vmlinuz")])
        #expect(r.entries[0].args == "root=/dev/sda1")
        #expect(r.has(.info, "no 'boot'; kexboot boots it"))
        // exit leaves instead.
        let exited = try ipxe("#!ipxe\nkernel vmlinuz\nexit\n")
        #expect(exited.entries.isEmpty && exited.has(.info, "it exits iPXE"))
    }

    @Test func imgfreeForgetsEarlierImages() throws {
        let r = try ipxe("#!ipxe\ninitrd old.img\nkernel old\nimgfree\nkernel new\ninitrd new.img\nboot\n")
        #expect(r.entries[0].kernel == file("/tftp/new"))
        #expect(r.entries[0].initrds == [file("/tftp/new.img")])
    }

    @Test func lineContinuationAndComments() throws {
        let r = try ipxe("#!ipxe\r\n# a comment \\\r\nkernel never\r\nkernel http://x/vmlinuz \\\r\n   console=ttyS0 \\\n   quiet # trailing comment\ninitrd http://x/initrd.gz #comment\nboot\n")
        #expect(r.entries.map(\.kernel) == [.url("http://x/vmlinuz")])
        #expect(r.entries[0].args == "console=ttyS0 quiet")
        #expect(r.entries[0].initrds == [.url("http://x/initrd.gz")])
    }

    @Test func settingsAndTheirTypes() throws {
        let r = try ipxe("""
        #!ipxe
        set idx 0
        set a ${mac:hexraw}
        set b ${net${idx}/mac:hexhyp}
        set c ${net0.dhcp/ip}
        set gone here
        set gone
        set also here
        clear also
        set net0/extra from-net0
        kernel http://${next-server}/boot/${hostname}/vmlinuz a=${a} b=${b} c=${c} gone=${gone} also=${also} x=${extra} u=${uuid} ${}
        inc counter
        inc counter 4
        imgargs vmlinuz ${} a=${a} n=${counter} un${unclosed
        boot
        """, env: net + [("net_default_uuid", "1b4e28ba-2fa1-11d2-883f-0016d3cca427")])
        let e = try #require(r.entries.first)
        #expect(e.kernel == .url("http://10.0.2.2/boot/node7/vmlinuz"))
        #expect(e.args == "a=525400abcd01 n=5 un${unclosed")
        let kernelOnly = try ipxe("#!ipxe\nset idx 0\nkernel k a=${mac:hexraw} b=${net${idx}/mac:hexhyp} c=${net0.dhcp/ip} g=${gone} x=${net0/extra} u=${uuid} m=${net0/mac}\n", env: net)
        #expect(kernelOnly.entries[0].args == "a=525400abcd01 b=52-54-00-ab-cd-01 c=10.0.2.15 g= x= u= m=52:54:00:AB:cd:01")
    }

    @Test func conditionalsFollowTheKnownValues() throws {
        let r = try ipxe("""
        #!ipxe
        iseq ${platform} efi && set kernel vmlinuz.efi-stub || set kernel vmlinuz.bios
        iseq ${buildarch} x86_64 && set arch amd64 ||
        iseq ${buildarch} arm64 && set arch arm64 ||
        isset ${filename} && goto dhcpboot || goto manual
        :dhcpboot
        chain ${filename}
        :manual
        prompt --key 0x02 --timeout 2000 Press Ctrl-B for the iPXE command line... && shell ||
        kernel http://x/${arch}/${kernel}
        boot
        """)
        #expect(r.entries.map(\.kernel) == [.url("http://x/amd64/vmlinuz.efi-stub")])
        let dhcp = try ipxe("#!ipxe\nisset ${filename} && goto dhcpboot || goto manual\n:dhcpboot\nchain ${filename} quiet\n:manual\nshell\n",
                            env: [("filename", "http://10.0.0.1/vmlinuz")])
        #expect(dhcp.entries.map(\.kernel) == [.url("http://10.0.0.1/vmlinuz")])
        #expect(dhcp.entries[0].args == "quiet")
    }

    @Test func aFailureNothingHandlesEndsTheScript() throws {
        let r = try ipxe("#!ipxe\niseq a b\nkernel never\nboot\n")
        #expect(r.entries.isEmpty)
        #expect(r.has(.info, "'iseq' fails at line 2, which ends the script"))
        // `cmd ||` ignores the failure.
        let ignored = try ipxe("#!ipxe\niseq a b ||\nkernel k\nboot\n")
        #expect(ignored.entries.count == 1)
    }

    @Test func unknownCommandsAreInfoWithALocation() throws {
        let r = try ipxe("#!ipxe\n  frobnicate --hard\nkernel k\nboot\n")
        #expect(r.entries.count == 1)
        let d = try #require(r.diagnostics.first { $0.message == "unknown command 'frobnicate'" })
        #expect(d.severity == .info)
        #expect(d.location == SourceLocation(file: "/tftp/boot.ipxe", line: 2, column: 3))
    }

    @Test func withoutTheMagicLineItIsStillRead() throws {
        let r = try IPXEConfig.parse(path: "/x.ipxe", files: MemoryFileSource(["/x.ipxe": "kernel k\nboot\n"]), platform: testPlatform)
        #expect(r.entries.count == 1 && r.has(.warning, "not #!ipxe"))
    }

    @Test func multibootXen() throws {
        let r = try ipxe("""
        #!ipxe
        kernel http://s/xen.gz dom0_mem=2048M console=com1
        module http://s/vmlinuz root=/dev/sda1 ro
        module http://s/initrd.img
        boot
        """)
        let e = try #require(r.entries.first)
        #expect(e.kind == .multiboot && e.kernel == .url("http://s/xen.gz") && e.args == "dom0_mem=2048M console=com1")
        #expect(e.modules == [BootModule(resource: .url("http://s/vmlinuz"), args: "root=/dev/sda1 ro"),
                              BootModule(resource: .url("http://s/initrd.img"), args: "")])
    }

    @Test func initrdArgumentsAndDevicetree() throws {
        let r = try ipxe("#!ipxe\nkernel Image\ninitrd initrd.img\ninitrd modules/e1000.ko /lib/modules/e1000.ko\nfdt dtbs/board.dtb\nboot\n")
        let e = try #require(r.entries.first)
        #expect(e.initrds == [file("/tftp/initrd.img"), file("/tftp/modules/e1000.ko")])
        #expect(e.devicetree == file("/tftp/dtbs/board.dtb"))
        #expect(r.has(.info, "initrd 'e1000.ko' has arguments (/lib/modules/e1000.ko)"))
    }

    @Test func httpProxyBecomesTheProxy() throws {
        let r = try ipxe("#!ipxe\nset http-proxy http://proxy.example.com:3128/\nkernel http://x/k\nboot\n")
        #expect(r.proxy == "http://proxy.example.com:3128/")
        #expect(r.json["proxy"] == .string("http://proxy.example.com:3128/"))
        #expect(try ipxe("#!ipxe\nkernel k\nboot\n").json["proxy"] == nil)
    }
}

@Suite struct IPXENotBootableTests {
    @Test(arguments: [
        ("chain --autofree http://boot.example.com/menu.ipxe", "chains the script http://boot.example.com/menu.ipxe"),
        ("chain http://boot.ipxe.org/demo/boot.php", "chains the script"),
        ("chain http://server/boot?mac=${mac}", "chains the script"),
        ("chain tftp://10.0.0.1/undionly.kpxe", "undionly.kpxe is a PXE program"),
        ("chain pxelinux.0", "pxelinux.0 is a PXE program"),
        ("chain http://x/memtest64.efi", "memtest64.efi is an EFI program"),
        ("kernel http://x/wimboot\ninitrd http://x/boot.wim\nboot", "wimboot boots Windows"),
        ("kernel memdisk iso raw\ninitrd http://x/disk.iso\nboot", "memdisk is syslinux's disk emulator"),
        ("sanboot --no-describe --drive 0x80", "it boots a disk (sanboot)"),
        ("shell", "it opens the iPXE shell"),
        ("reboot", "it reboots"),
        ("poweroff", "it powers off"),
        ("autoboot", "autoboot boots whatever DHCP names"),
        ("exit 1", "it exits iPXE"),
        ("kernel nfs://10.0.0.1/export/vmlinuz\nboot", "kexboot cannot fetch nfs:// URLs"),
        ("kernel http://x/vmlinuz\ninitrd nfs://10.0.0.1/initrd\nboot", "kexboot cannot fetch nfs:// URLs"),
        ("echo nothing to see", "the script ends without booting a kernel"),
    ])
    func leftOutWithTheReason(script: String, reason: String) throws {
        let r = try ipxe("#!ipxe\n" + script + "\n")
        #expect(r.entries.isEmpty)
        #expect(r.defaultIndex == nil)
        #expect(r.has(.info, reason), "\(r.messages)")
    }

    @Test func aScriptOnTheNetworkIsNotFetched() throws {
        // Chained with --replace: handed over, nothing after it runs.
        let replaced = try ipxe("#!ipxe\nchain --replace --autofree http://boot.example.com/menu.ipxe\nkernel k\nboot\n")
        #expect(replaced.entries.isEmpty && replaced.has(.info, "chains the script http://boot.example.com/menu.ipxe"))
        // A plain chain comes back: a settings script served next to the menu, read through a URL prefix.
        let r = try ipxe("""
        #!ipxe
        chain --autofree boot.cfg ||
        menu
        item a Linux
        item remote Remote menu
        choose x && goto ${x}
        :a
        kernel vmlinuz
        boot
        :remote
        chain http://other.example.com/menu.ipxe || goto failed
        goto failed
        :failed
        echo failed
        """, prefix: "http://boot.example.com/netboot/")
        #expect(r.entries.map(\.kernel) == [.url("http://boot.example.com/netboot/vmlinuz")])
        #expect(r.has(.info, "chain: http://boot.example.com/netboot/boot.cfg is a script kexboot does not fetch"))
        #expect(r.has(.info, "'Remote menu' left out: it chains the script http://other.example.com/menu.ipxe, which kexboot does not fetch"))
    }

    @Test func aMissingLocalScriptFailsSoTheFallbackRuns() throws {
        let r = try ipxe("#!ipxe\nchain --autofree local-vars.ipxe || echo no local settings\nkernel k\nboot\n")
        #expect(r.entries.count == 1)
        #expect(r.has(.info, "/tftp/local-vars.ipxe: no such file"))
    }
}

@Suite struct IPXEChainedScriptTests {
    @Test func aLocalScriptRunsAndReturns() throws {
        let r = try ipxe("""
        #!ipxe
        chain --autofree boot.cfg || echo no boot.cfg
        chain --autofree ${site}/settings.ipxe ||
        kernel ${boot-url}/vmlinuz ${extra}
        boot
        """, files: [
            "/tftp/boot.cfg": "#!ipxe\nset boot-url http://images.example.com/${buildarch}\nset site conf\nexit 0\nset boot-url never\n",
            "/tftp/conf/settings.ipxe": "#!ipxe\nset extra console=ttyS1\n",
        ])
        #expect(r.entries.map(\.kernel) == [.url("http://images.example.com/x86_64/vmlinuz")])
        #expect(r.entries[0].args == "console=ttyS1")
    }

    @Test func replaceHandsOverAndRelativeNamesFollowTheChainedScript() throws {
        let r = try ipxe("#!ipxe\nchain --replace sub/menu.ipxe\nkernel never\nboot\n", files: [
            "/tftp/sub/menu.ipxe": "#!ipxe\nkernel vmlinuz\nboot\n",
        ])
        #expect(r.entries.map(\.kernel) == [file("/tftp/sub/vmlinuz")])
    }

    @Test func aFailingChainedScriptFailsTheChain() throws {
        let r = try ipxe("#!ipxe\nchain inner.ipxe || goto fallback\nkernel never\n:fallback\nkernel fallback\nboot\n", files: [
            "/tftp/inner.ipxe": "#!ipxe\nexit 1\n",
        ])
        #expect(r.entries.map(\.kernel) == [file("/tftp/fallback")])
    }

    @Test func scriptsChainingThemselvesStop() throws {
        let r = try ipxe("#!ipxe\nchain boot.ipxe\n")
        #expect(r.entries.isEmpty)
        #expect(r.has(.info, "chain each other more than"))
    }
}

@Suite struct IPXEMenuTests {
    static let netbootStyle = """
    #!ipxe
    # netboot.xyz-style main menu
    :start
    isset ${menu-timeout} || set menu-timeout 5000
    isset ${menu-default} || set menu-default fedora
    cpuid --ext 29 && set arch x86_64 || set arch i386
    menu Boot menu for ${hostname}
    item --gap -- ------------------------- Operating systems -------------------------
    item --key f fedora Fedora 39 (${arch})
    item --key d debian Debian 12 installer
    item --key u menu-utils Utilities...
    item --gap -- ------------------------- Advanced options -------------------------
    item --key c config Configure settings
    item shell Drop to iPXE shell
    item reboot Reboot computer
    item
    item --key x exit Exit iPXE and continue BIOS boot
    choose --timeout ${menu-timeout} --default ${menu-default} selected || goto cancel
    set menu-timeout 0
    goto ${selected}

    :cancel
    echo You cancelled the menu, dropping you to a shell

    :shell
    echo Type 'exit' to get back to the menu
    shell
    set menu-timeout 0
    goto start

    :failed
    echo Booting failed, dropping to shell
    goto shell

    :reboot
    reboot

    :exit
    exit

    :config
    config
    goto start

    :fedora
    set base http://dl.fedoraproject.org/pub/fedora/linux/releases/39/Everything/${arch}/os
    kernel ${base}/images/pxeboot/vmlinuz inst.repo=${base} ip=dhcp BOOTIF=01-${net0/mac:hexhyp}
    initrd ${base}/images/pxeboot/initrd.img
    boot || goto failed
    goto start

    :debian
    imgfree
    set d http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64
    kernel --name linux ${d}/linux
    initrd --name initrd.gz ${d}/initrd.gz
    imgargs linux initrd=initrd.gz priority=low ---
    boot || goto failed

    :menu-utils
    menu Utilities
    item memtest Memtest86+
    item rescue SystemRescue
    item back Back to top menu
    choose util || goto start
    goto util-${util}

    :util-memtest
    chain http://boot.example.com/memtest64.efi || goto failed

    :util-rescue
    kernel http://boot.example.com/sysrcd/vmlinuz archisobasedir=sysresccd ip=dhcp
    initrd http://boot.example.com/sysrcd/sysresccd.img
    boot

    :util-back
    goto start
    """

    @Test func netbootStyleMenu() throws {
        let r = try ipxe(Self.netbootStyle, env: net)
        #expect(r.entries.map(\.id) == ["fedora", "debian", "rescue"])
        #expect(r.entries.map(\.title) == ["Fedora 39 (x86_64)", "Debian 12 installer", "SystemRescue"])
        #expect(r.entries.map(\.path) == [["Fedora 39 (x86_64)"], ["Debian 12 installer"], ["Utilities...", "SystemRescue"]])
        #expect(r.defaultIndex == 0)
        #expect(r.timeout == 5)
        let fedora = r.entries[0]
        let base = "http://dl.fedoraproject.org/pub/fedora/linux/releases/39/Everything/x86_64/os"
        #expect(fedora.kernel == .url(base + "/images/pxeboot/vmlinuz"))
        #expect(fedora.initrds == [.url(base + "/images/pxeboot/initrd.img")])
        #expect(fedora.args == "inst.repo=\(base) ip=dhcp BOOTIF=01-52-54-00-ab-cd-01")
        let debian = r.entries[1]
        #expect(debian.kernel == .url("http://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux"))
        #expect(debian.initrds.count == 1 && debian.args == "initrd=initrd.gz priority=low ---")
        #expect(r.entries[2].kernel == .url("http://boot.example.com/sysrcd/vmlinuz"))
        #expect(r.entries[2].initrds == [.url("http://boot.example.com/sysrcd/sysresccd.img")])
        // Every item that boots nothing is accounted for.
        #expect(r.has(.info, "'Configure settings' left out: it goes back to the menu 'Boot menu for node7'"))
        #expect(r.has(.info, "'Drop to iPXE shell' left out: it opens the iPXE shell"))
        #expect(r.has(.info, "'Reboot computer' left out: it reboots"))
        #expect(r.has(.info, "'Exit iPXE and continue BIOS boot' left out: it exits iPXE"))
        #expect(r.has(.info, "'Memtest86+' left out: memtest64.efi is an EFI program"))
        #expect(r.has(.info, "'Back to top menu' left out: it goes back to the menu 'Boot menu for node7'"))
        #expect(!r.diagnostics.contains { $0.severity != .info }, "\(r.messages)")
    }

    @Test func theDefaultAndTimeoutComeFromSettingsSetBeforeTheMenu() throws {
        let r = try ipxe(Self.netbootStyle, env: net + [("menu-default", "debian"), ("menu-timeout", "2500")])
        #expect(r.defaultIndex == 1 && r.timeout == 3)
        // The default names an item that boots nothing: the first entry, said once.
        let toExit = try ipxe(Self.netbootStyle, env: [("menu-default", "exit")])
        #expect(toExit.defaultIndex == 0 && toExit.has(.info, "default item 'exit' boots nothing"))
        // A submenu as the default: its first entry.
        let utils = try ipxe(Self.netbootStyle, env: [("menu-default", "menu-utils")])
        #expect(utils.defaultIndex == 2)
    }

    @Test(arguments: [("--timeout 5000", 5 as Int?), ("--timeout 1", 1), ("--timeout 1500", 2), ("-t 3000", 3),
                      ("--timeout=60000", 60), ("--timeout 0", -1), ("", nil), ("--timeout ${unset}", nil)])
    func timeoutsInMilliseconds(option: String, expected: Int?) throws {
        let r = try ipxe("#!ipxe\nmenu\nitem a A\nchoose \(option) x && goto ${x}\n:a\nkernel a\nboot\n")
        #expect(r.timeout == expected)
        #expect(r.entries.map(\.id) == ["a"])
    }

    @Test func badTimeoutAndDefaults() throws {
        let r = try ipxe("#!ipxe\nmenu\nitem a A\nitem b B\nchoose --timeout soon --default nowhere x && goto ${x}\n:a\n:b\nkernel k-${x}\nboot\n")
        #expect(r.timeout == nil && r.has(.warning, "--timeout 'soon'"))
        #expect(r.defaultIndex == 0 && r.has(.warning, "choose --default 'nowhere' names no menu item"))
        #expect(r.entries.map(\.kernel) == [file("/tftp/k-a"), file("/tftp/k-b")])
        // item --default marks the menu's default when choose names none.
        let marked = try ipxe("#!ipxe\nmenu\nitem a A\nitem --default b B\nchoose x\ngoto ${x}\n:a\n:b\nkernel k-${x}\nboot\n")
        #expect(marked.defaultIndex == 1)
    }

    @Test func installerMenuWithSharedBootCode() throws {
        let r = try ipxe("""
        #!ipxe
        set mirror http://mirror.example.com
        menu Fedora/Debian installers
        item f39 Install Fedora 39
        item f39-rescue Rescue a Fedora 39 system
        item deb12 Install Debian 12 (text)
        item --key g deb12-gui Install Debian 12 (graphical)
        choose --default deb12 --timeout 10000 target && goto ${target}

        :f39
        set args inst.repo=${mirror}/fedora/39/os
        goto fedora
        :f39-rescue
        set args inst.rescue inst.stage2=${mirror}/fedora/39/os
        :fedora
        kernel ${mirror}/fedora/39/vmlinuz ${args} ip=dhcp
        initrd ${mirror}/fedora/39/initrd.img
        boot

        :deb12
        set extra ---
        goto debian
        :deb12-gui
        set gui 1
        set extra vga=788 ---
        :debian
        isset ${gui} && set dir gtk/ || set dir
        kernel ${mirror}/debian/${dir}linux ${extra}
        initrd ${mirror}/debian/${dir}initrd.gz
        boot
        """)
        #expect(r.entries.map(\.id) == ["f39", "f39-rescue", "deb12", "deb12-gui"])
        #expect(r.entries.map(\.args) == ["inst.repo=http://mirror.example.com/fedora/39/os ip=dhcp",
                                          "inst.rescue inst.stage2=http://mirror.example.com/fedora/39/os ip=dhcp",
                                          "---", "vga=788 ---"])
        #expect(r.entries.map(\.kernel) == [.url("http://mirror.example.com/fedora/39/vmlinuz"), .url("http://mirror.example.com/fedora/39/vmlinuz"),
                                            .url("http://mirror.example.com/debian/linux"), .url("http://mirror.example.com/debian/gtk/linux")])
        #expect(r.defaultIndex == 2 && r.timeout == 10)
    }

    @Test func aMissingLabelCostsOnlyItsItem() throws {
        let r = try ipxe("""
        #!ipxe
        menu
        item good Good
        item typo Typo
        item nolabel No such label
        choose choice || goto cancel
        goto ${choice}
        :good
        kernel good
        boot
        :typo
        goto tpyo-boot
        :cancel
        exit
        """)
        #expect(r.entries.map(\.id) == ["good"])
        #expect(r.has(.warning, "goto: no label 'tpyo-boot' (menu item 'Typo')"))
        #expect(r.has(.warning, "goto: no label 'nolabel' (menu item 'No such label')"))
        #expect(r.has(.info, "'Typo' left out: 'goto' fails at line 12, which ends the script"))
    }

    @Test func namedMenusAndKeep() throws {
        let r = try ipxe("""
        #!ipxe
        menu --name os Operating systems
        item --menu os alpine Alpine Linux
        item --menu os arch Arch Linux
        choose --menu os --keep os && goto ${os}
        :alpine
        kernel http://dl-cdn.alpinelinux.org/alpine/v3.19/releases/x86_64/netboot/vmlinuz-lts alpine_repo=http://dl-cdn.alpinelinux.org/alpine/v3.19/main modloop=http://dl-cdn.alpinelinux.org/alpine/v3.19/releases/x86_64/netboot/modloop-lts
        initrd http://dl-cdn.alpinelinux.org/alpine/v3.19/releases/x86_64/netboot/initramfs-lts
        boot
        :arch
        kernel http://mirror.example.com/arch/boot/x86_64/vmlinuz-linux archiso_http_srv=http://mirror.example.com/arch/ ip=dhcp
        initrd http://mirror.example.com/arch/boot/intel-ucode.img
        initrd http://mirror.example.com/arch/boot/amd-ucode.img
        initrd http://mirror.example.com/arch/boot/x86_64/initramfs-linux.img
        boot
        """)
        #expect(r.entries.map(\.title) == ["Alpine Linux", "Arch Linux"])
        #expect(r.entries[1].initrds.count == 3)
        #expect(r.entries[1].initrds.last == .url("http://mirror.example.com/arch/boot/x86_64/initramfs-linux.img"))
    }

    @Test func chooseWithoutAMenuFails() throws {
        let r = try ipxe("#!ipxe\nchoose x || goto none\n:none\nkernel k\nboot\n")
        #expect(r.has(.warning, "choose: no menu to choose from"))
        #expect(r.entries.map(\.id) == ["k"])
    }

    @Test func nestedMenusGivePaths() throws {
        var script = "#!ipxe\n:top\nmenu Top\nitem l1 Level one\nitem t Top kernel\nchoose c && goto ${c}\n:t\nkernel top\nboot\n"
        script += ":l1\nmenu One\nitem l2 Level two\nitem k1 One kernel\nitem up Up\nchoose c1 && goto ${c1}\n:up\ngoto top\n:k1\nkernel one\nboot\n"
        script += ":l2\nmenu Two\nitem k2 Two kernel\nitem up2 Up\nchoose c2 && goto ${c2}\n:up2\ngoto l1\n:k2\nkernel two\nboot\n"
        let r = try ipxe(script)
        #expect(r.entries.map(\.path) == [["Level one", "Level two", "Two kernel"], ["Level one", "One kernel"], ["Top kernel"]])
        #expect(r.entries.map(\.id) == ["k2", "k1", "t"])
        #expect(r.has(.info, "'Up' left out: it goes back to the menu 'One'"))
        #expect(r.has(.info, "'Up' left out: it goes back to the menu 'Top'"))
    }

    @Test func anUntitledMenuIsNamedByItsLine() throws {
        let r = try ipxe("#!ipxe\n:top\nmenu\nitem a A\nitem back Again\nchoose x && goto ${x}\n:back\ngoto top\n:a\nkernel a\nboot\n")
        #expect(r.entries.map(\.id) == ["a"])
        #expect(r.has(.info, "'Again' left out: it goes back to the menu at line 6"))
    }

    @Test func sameLabelTwiceGetsUniqueIDs() throws {
        let r = try ipxe("#!ipxe\nmenu\nitem a First\nitem a Second\nchoose x && goto ${x}\n:a\nkernel k\nboot\n")
        #expect(r.entries.map(\.id) == ["a", "a#2"])
        #expect(r.entries.map(\.title) == ["First", "Second"])
    }
}

@Suite struct IPXERobustnessTests {
    typealias Random = RobustnessTests.Random

    static func parse(_ bytes: [UInt8], files: [String: String] = [:]) -> ParseResult {
        var all = MemoryFileSource(files)
        all.files["/t.ipxe"] = bytes
        return try! IPXEConfig.parse(path: "/t.ipxe", files: all, platform: testPlatform)
    }

    @Test(arguments: [1, 2, 3])
    func randomBytes(seed: UInt64) {
        var rng = Random(state: 0x9E37_79B9_7F4A_7C15 &* seed)
        let bytes = Array("#!ipxe\n".utf8) + (0..<200_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let r = Self.parse(bytes)
        #expect(r.diagnostics.count <= DiagnosticSink.cap + 1)
    }

    @Test(arguments: [4, 5])
    func randomTokens(seed: UInt64) {
        // Garbage made of real iPXE words: more paths get somewhere.
        let words = ["kernel", "initrd", "boot", "chain", "goto", ":a", ":b", "a", "b", "menu", "item", "choose", "x", "${x}",
                     "&&", "||", ";", "set", "isset", "iseq", "exit", "imgfree", "\\", "#", "${", "}", "--name", "-n", "http://h/k", "\n", "\n"]
        var rng = Random(state: 0x1234_5678 &* seed)
        var text = "#!ipxe\n"
        for _ in 0..<20_000 { text += words[Int(rng.next() % UInt64(words.count))] + " " }
        let r = Self.parse(Array(text.utf8))
        #expect(r.diagnostics.count <= DiagnosticSink.cap + 1)
    }

    @Test func aMegabyteLine() {
        let long = "#!ipxe\nkernel http://x/k " + String(repeating: "a=${b} ", count: 150_000) + "\n"
        let r = Self.parse(Array(long.utf8))
        #expect(r.entries.count == 1)
        let braces = "#!ipxe\necho " + String(repeating: "${", count: 500_000) + "\nkernel k\nboot\n"
        #expect(Self.parse(Array(braces.utf8)).entries.count == 1)
        let continued = "#!ipxe\nkernel k \\\n" + String(repeating: "x \\\n", count: 100_000) + "\nboot\n"
        #expect(Self.parse(Array(continued.utf8)).entries.first?.args.count == 200_000 - 1)
    }

    @Test func gotoLoopsStop() {
        let simple = Self.parse(Array("#!ipxe\n:a\ngoto a\n".utf8))
        #expect(simple.entries.isEmpty && simple.has(.warning, "goto loop"))
        let retry = Self.parse(Array("#!ipxe\n:retry_dhcp\ndhcp && isset ${filename} || goto retry_dhcp\nchain ${filename}\n".utf8))
        #expect(retry.entries.isEmpty && retry.has(.warning, "goto loop"))
        let counting = Self.parse(Array("#!ipxe\n:a\ninc n\ngoto a\n".utf8))
        #expect(counting.entries.isEmpty && counting.has(.warning, "more than \(IPXEInterpreter.maxStepsPerPath) commands"))
        // A loop inside every item of a large menu stops within the overall budget.
        var big = "#!ipxe\nmenu\n"
        for i in 0..<100 { big += "item l\(i) Item \(i)\n" }
        big += "choose x && goto ${x}\n"
        for i in 0..<100 { big += ":l\(i)\n" }
        big += ":spin\ninc n\ngoto spin\n"
        let r = Self.parse(Array(big.utf8))
        #expect(r.entries.isEmpty)
        #expect(r.has(.error, "evaluation stopped after"))
    }

    @Test func manyItemsAndDeepMenus() {
        var text = "#!ipxe\nmenu\n"
        for i in 0..<2000 { text += "item i\(i) Entry \(i)\n" }
        text += "choose x && goto ${x}\n"
        for i in 0..<2000 { text += ":i\(i)\n" }
        text += "kernel k-${x}\nboot\n"
        let r = Self.parse(Array(text.utf8))
        #expect(r.entries.count == 2000)
        #expect(r.entries.last?.kernel == .file(device: nil, path: "/k-i1999"))
        // Each level's only item opens the next menu.
        var deep = "#!ipxe\n"
        for i in 0..<40 { deep += "menu M\(i)\nitem next\(i) Next \(i)\nchoose c && goto next\(i)\n:next\(i)\n" }
        deep += "kernel k\nboot\n"
        let d = Self.parse(Array(deep.utf8))
        #expect(d.entries.isEmpty && d.has(.warning, "menus nested more than"))
    }

    @Test func oddCommandsDoNotCrash() {
        let lines = ["set", "clear", "inc", "goto", "kernel", "initrd", "imgargs", "imgfree nothing", "boot", "chain ${nothing}",
                     "item orphan", "choose", "menu --bogus", "item -x", "choose -z", "kernel --name", "kernel -", "fdt", "::",
                     ";;;", "&& || ;", "iseq", "isset", "exit notanumber"]
        let text = "#!ipxe\n" + lines.map { $0 + " ||\n" }.joined()
        let r = Self.parse(Array(text.utf8))
        #expect(r.entries.isEmpty)
        #expect(r.has(.warning, "set: needs a setting name"))
        #expect(r.has(.warning, "boot: no image to boot"))
        #expect(r.has(.warning, "menu: unknown option '--bogus'"))
        #expect(r.has(.info, "unknown command ';;;'"))
        #expect(r.has(.info, "it exits iPXE"))
    }
}
