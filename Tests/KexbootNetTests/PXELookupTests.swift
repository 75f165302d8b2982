import KexbootNet
import Testing

/// Leases as udhcpc reports them, and where they say the boot config is.
@Suite struct PXELookupTests {
    let mac = "52:54:00:12:34:56"

    func lease(_ env: [String: String]) -> DHCPLease {
        DHCPLease(environment: ["interface": "eth0", "ip": "192.168.1.70", "mask": "24", "siaddr": "192.168.1.1",
                                "serverid": "192.168.1.254"].merging(env) { $1 })
    }

    @Test func theEnvironmentBecomesALease() {
        let l = DHCPLease(environment: ["interface": "eth0", "ip": "10.0.2.15", "subnet": "255.255.255.0", "router": "10.0.2.2 10.0.2.3",
                                        "dns": "10.0.2.3", "siaddr": "0.0.0.0", "serverid": "10.0.2.2", "boot_file": "pxelinux.0",
                                        "opt211": "0000012c"])
        #expect(l.prefixLength == 24)
        #expect(l.routers == ["10.0.2.2", "10.0.2.3"])
        #expect(l.nextServer == nil)
        #expect(l.bootServer == "10.0.2.2")
        #expect(l.bootFile == "pxelinux.0")
        #expect(l.rebootTime == 300)
        #expect(l.variables(mac: mac).contains { $0 == ("net_default_netmask", "255.255.255.0") })
    }

    /// `mask` is text from udhcpc's environment: a number that is no prefix length gives
    /// no netmask variable (`32 - mask` trapped for the most negative one).
    @Test func aMaskThatIsNoPrefixLengthGivesNoNetmask() {
        for mask in ["-9223372036854775808", "-1", "33", "9223372036854775807"] {
            #expect(!lease(["mask": mask]).variables(mac: mac).contains { $0.0 == "net_default_netmask" }, "\(mask)")
        }
        #expect(lease(["mask": "0"]).variables(mac: mac).contains { $0 == ("net_default_netmask", "0.0.0.0") })
        #expect(lease(["mask": "32"]).variables(mac: mac).contains { $0 == ("net_default_netmask", "255.255.255.255") })
    }

    @Test func thePxelinuxOrder() throws {
        let uuid = "B8945908-D6A6-41A9-611D-74A6AB80B83D"
        let lookup = try #require(PXELookup(lease: lease(["bootfile": "boot/pxelinux.0"]), mac: mac, uuid: uuid))
        #expect(lookup.prefix == "tftp://192.168.1.1/boot/")
        let names = lookup.candidates.map { $0.replacingOccurrences(of: "tftp://192.168.1.1/boot/pxelinux.cfg/", with: "") }
        #expect(names == ["b8945908-d6a6-41a9-611d-74a6ab80b83d", "01-52-54-00-12-34-56",
                          "C0A80146", "C0A8014", "C0A801", "C0A80", "C0A8", "C0A", "C0", "C", "default"])
    }

    @Test func optionsNameTheConfigAndPrefix() throws {
        // 210 as a URL, 209 relative to it.
        let a = try #require(PXELookup(lease: lease(["pxepathprefix": "http://boot.example/pxe", "pxeconffile": "menus/x86.cfg"]), mac: mac))
        #expect(a.prefix == "http://boot.example/pxe/")
        #expect(a.candidates == ["http://boot.example/pxe/menus/x86.cfg"])
        // 209 as a full URL wins over the prefix for the config itself.
        let b = try #require(PXELookup(lease: lease(["pxeconffile": "https://cfg.example/node1.cfg", "bootfile": "pxelinux.0"]), mac: mac))
        #expect(b.candidates == ["https://cfg.example/node1.cfg"])
        #expect(b.prefix == "tftp://192.168.1.1/")
        // Option 66 names the TFTP server; host::path prefixes.
        let c = try #require(PXELookup(lease: lease(["tftp": "tftp.example", "pxepathprefix": "other.example::/srv/"]), mac: mac))
        #expect(c.prefix == "tftp://other.example/srv/")
        #expect(c.candidates.last == "tftp://other.example/srv/pxelinux.cfg/default")
        // An iPXE script or URL as the boot file is the config.
        let d = try #require(PXELookup(lease: lease(["bootfile": "http://10.0.0.1/boot.ipxe"]), mac: mac))
        #expect(d.candidates == ["http://10.0.0.1/boot.ipxe"])
        #expect(PXELookup(lease: lease([:]), mac: mac) == nil)
        // No server at all, a URL prefix and a relative iPXE script: resolved, no crash.
        let e = try #require(PXELookup(lease: DHCPLease(environment: ["interface": "eth0", "ip": "10.1.1.5",
                                                                        "pxepathprefix": "http://10.0.0.1/boot/", "bootfile": "menu.ipxe"]), mac: mac))
        #expect(e.candidates == ["http://10.0.0.1/boot/menu.ipxe"])
        // A DHCP server cannot point kexboot at its own files.
        #expect(PXELookup(lease: lease(["pxeconffile": "file:///etc/kexboot/kexboot.conf"]), mac: mac) == nil)
        #expect(PXELookup(lease: lease(["bootfile": "FILE:///etc/shadow"]), mac: mac) == nil)
    }

    @Test func theArchitectureIdentity() {
        #expect(PXEArchitecture.vendorClass(PXEArchitecture.code(machine: "x86_64", efi: true)) == "PXEClient:Arch:00007:UNDI:003000")
        #expect(PXEArchitecture.code(machine: "ppc64le", efi: false) == 0x0e)
        #expect(PXEArchitecture.code(machine: "aarch64", efi: true) == 0x0b)
        let args = PXEArchitecture.udhcpcArguments(interface: "eth0", script: "/s", code: 0x0b)
        #expect(args.contains("0x5d:000b"))
        for option in ["pxeconffile", "pxepathprefix", "reboottime", "bootfile", "tftp"] { #expect(args.contains(option)) }
    }

    /// `kexboot dhcp6`'s variables: option 59 is the boot file, a URL.
    @Test func aDHCPv6Lease() throws {
        let l = DHCPLease(environment: ["interface": "eth0", "family": "inet6", "ipv6": "fd00:77::142", "ipv6prefix": "128",
                                        "dns": "fd00:77::1 not-an-address", "domain": "example.org lan", "serverid": "000300010a0b0c0d0e0f",
                                        "lease": "3600", "bootfile_url": "tftp://[fd00:77::1]/pxelinux.cfg/default",
                                        "bootfile_param": "a=1 b=2"])
        #expect(l.isIPv6)
        #expect(l.address == "fd00:77::142" && l.prefixLength == 128)
        #expect(l.dns == ["fd00:77::1"])
        #expect(l.domain == "example.org lan")
        #expect(l.bootServer == nil, "a DUID is not a host")
        #expect(l.bootFileParameters == ["a=1", "b=2"])
        #expect(l.leaseSeconds == 3600)
        #expect(!l.variables(mac: mac).contains { $0.0 == "net_default_netmask" })
        // A config URL is the config.
        let a = try #require(PXELookup(lease: l, mac: mac))
        #expect(a.candidates == ["tftp://[fd00:77::1]/pxelinux.cfg/default"])
        #expect(a.prefix == "tftp://[fd00:77::1]/pxelinux.cfg/")
        // A pxelinux.0 URL: the pxelinux search beside it, with no hex-address step.
        var b = l
        b.bootFile = "tftp://[fd00:77::1]/boot/pxelinux.0"
        let lookup = try #require(PXELookup(lease: b, mac: mac, uuid: "B8945908-D6A6-41A9-611D-74A6AB80B83D"))
        #expect(lookup.prefix == "tftp://[fd00:77::1]/boot/")
        #expect(lookup.candidates == ["b8945908-d6a6-41a9-611d-74a6ab80b83d", "01-52-54-00-12-34-56", "default"]
            .map { "tftp://[fd00:77::1]/boot/pxelinux.cfg/" + $0 })
        // An http boot file URL (an iPXE script, say) is the config.
        b.bootFile = "http://[fd00:77::1]:8080/boot.ipxe"
        #expect(PXELookup(lease: b, mac: mac)?.candidates == ["http://[fd00:77::1]:8080/boot.ipxe"])
        // No boot file URL, no lookup; a relative boot file names no server.
        b.bootFile = nil
        #expect(PXELookup(lease: b, mac: mac) == nil)
        b.bootFile = "pxelinux.0"
        #expect(PXELookup(lease: b, mac: mac) == nil)
        // A broken address is no address.
        #expect(DHCPLease(environment: ["interface": "eth0", "family": "inet6", "ipv6": "fd00::zz"]).address == nil)
    }

    /// busybox udhcpc6's variables, with `family=inet6` from the daemon's environment:
    /// `search` is the domain list, its `ipv6prefix` (a delegated ADDR/LEN) not the
    /// address's prefix; `bootfile_param` without JSON is blank-separated words.
    @Test func udhcpc6Variables() {
        let l = DHCPLease(environment: ["interface": "eth1", "family": "inet6", "ipv6": "2001:db8::7", "ipv6prefix": "2001:db8:1::/56",
                                        "dns": "fe80::53 2001:db8::53", "search": "example.net", "bootfile_param": "a=1 b=2"])
        #expect(l.isIPv6 && l.address == "2001:db8::7" && l.prefixLength == 128)
        #expect(l.dns == ["fe80::53%eth1", "2001:db8::53"])
        #expect(l.domain == "example.net")
        #expect(l.bootFileParameters == ["a=1", "b=2"])
        #expect(DHCPLease(environment: ["interface": "eth1", "family": "inet6", "ipv6": "fe80::7"]).address == nil)
        #expect(DHCPLease(environment: ["interface": "eth1", "family": "inet6", "bootfile_param": #"["x y", "z"]"#]).bootFileParameters == ["x y", "z"])
    }

    /// A URL with no path (or a directory) names no loader, whatever its host ends in.
    @Test(arguments: ["http://boot.example.com", "http://10.0.0.0", "http://boot.example.com/", "tftp://[fd00::1]",
                      "http://boot.example.com/?x=pxelinux.0", "http://boot.example.com/#a.efi"])
    func aURLWithoutAFileIsNoLoader(_ url: String) throws {
        let a = try #require(PXELookup(lease: lease(["bootfile": url]), mac: mac))
        #expect(a.candidates == [url])
    }

    @Test func aLoaderURLIsNotAConfig() throws {
        // IPv4 too: option 67 as a URL to pxelinux.0 or an EFI loader.
        let a = try #require(PXELookup(lease: lease(["bootfile": "http://10.0.0.1/boot/grubx64.efi"]), mac: mac))
        #expect(a.prefix == "http://10.0.0.1/boot/")
        #expect(a.candidates.last == "http://10.0.0.1/boot/pxelinux.cfg/default")
        let b = try #require(PXELookup(lease: lease(["bootfile": "http://boot.example.com/pxelinux.0?arch=7"]), mac: mac))
        #expect(b.candidates.last == "http://boot.example.com/pxelinux.cfg/default")
    }
}
