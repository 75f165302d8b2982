import KexbootConfig
import KexbootCore
@testable import KexbootServer
import Testing

@Suite struct DaemonConfigTests {
    @Test func readsSettingsAndInterfaces() {
        let config = DaemonConfig(text: """
            # comment
            autoboot = no
            timeout = 5
            boot-order = usb, label:BOOT any
            deny = name:sda
            http-proxy = "http://proxy:3128"

            [interface eth0]
            method = static
            address = 10.0.0.2/24
            dns = 10.0.0.1, 10.0.0.53
            """, path: "/etc/kexboot/kexboot.conf")
        #expect(config.diagnostics.isEmpty)
        #expect(!config.autoboot)
        #expect(config.timeout == 5)
        #expect(config.bootOrder.rules == [.type("usb"), .identity("label:BOOT"), .any])
        #expect(config.deny?.rules == [.name("sda")])
        #expect(config.httpProxy == "http://proxy:3128")
        #expect(config.interfaces == [DaemonConfig.Interface(name: "eth0", method: "static", address: "10.0.0.2/24", dns: ["10.0.0.1", "10.0.0.53"])])
    }

    /// `dhcp` runs DHCP and DHCPv6; `dhcp4` and `dhcp6` one of them.
    @Test func interfaceMethods() {
        let config = DaemonConfig(text: "[interface eth0]\nmethod = dhcp4\n[interface eth1]\nmethod = dhcp6\n[interface eth2]\nmethod = dhcp5\n", path: "k.conf")
        #expect(config.interfaces.map(\.method) == ["dhcp4", "dhcp6", "dhcp"])
        #expect(config.diagnostics.map { $0.location?.line } == [6])
    }

    @Test func badLinesAreDiagnosedWithTheirLineAndTheRestApplies() {
        let config = DaemonConfig(text: "timeout = soon\nnonsense\ncolour = red\npassword = hunter2\n[iface x]\nmethod = dhcp\nautoboot = false\n", path: "k.conf")
        #expect(config.diagnostics.map { $0.location?.line } == [1, 2, 3, 4, 5])
        #expect(config.diagnostics.map(\.description).allSatisfy { $0.hasPrefix("k.conf:") })
        #expect(config.diagnostics[3].message.contains("crypt(3) hash"))
        #expect(config.timeout == nil)
        #expect(config.passwordHash == nil)
        // Lines in a bad section are skipped, not applied to the top level.
        #expect(config.autoboot)
    }

    /// Issue 18: every fetch has a deadline and a size limit; the settings may change them
    /// but never turn them off.
    @Test func fetchLimitsHaveDefaultsAndCannotBeTurnedOff() {
        let defaults = DaemonConfig(text: "", path: "k.conf")
        #expect(defaults.fetchTimeout == 600 && defaults.value("fetch-timeout") == .int(600))
        #expect(defaults.fetchMaxSize == 1 << 30 && defaults.value("fetch-max-size") == .int(1 << 30))
        let set = DaemonConfig(text: "fetch-timeout = 1800\nfetch-max-size = 2G\n", path: "k.conf")
        #expect(set.diagnostics.isEmpty)
        #expect(set.fetchTimeout == 1800)
        #expect(set.fetchMaxSize == 2 << 30)
        #expect(DaemonConfig(text: "fetch-max-size = 536870912\n", path: "k.conf").fetchMaxSize == 512 << 20)
        let bad = DaemonConfig(text: "fetch-timeout = 0\nfetch-timeout = -1\nfetch-timeout = forever\nfetch-max-size = 0\nfetch-max-size = 1.5G\nfetch-max-size = lots\n",
                               path: "k.conf")
        #expect(bad.diagnostics.map { $0.location?.line } == [1, 2, 3, 4, 5, 6])
        #expect(bad.fetchTimeout == 600 && bad.fetchMaxSize == 1 << 30)
        // Empty is the default again.
        #expect(DaemonConfig(text: "fetch-timeout = 5\nfetch-timeout =\n", path: "k.conf").fetchTimeout == 600)
        #expect(DaemonConfig.keys.contains("fetch-timeout") && DaemonConfig.keys.contains("fetch-max-size"))
    }

    @Test func theKexecSystemCallComesFromTheConfigAndTheSwitchWins() {
        #expect(DaemonConfig(text: "", path: "k.conf").kexec == .auto)
        let config = DaemonConfig(text: "kexec = load\n", path: "k.conf")
        #expect(config.kexec == .load && config.value("kexec") == .string("load"))
        let bad = DaemonConfig(text: "kexec = purgatory\n", path: "k.conf")
        #expect(bad.kexec == .auto && bad.diagnostics.first?.message.contains("not auto, file or load") == true)
        #expect(KernelSwitches(commandLine: "quiet kexboot.kexec=file").kexec == .file)
        #expect(KernelSwitches(commandLine: "kexboot.kexec=sideways").kexec == nil)
        #expect(KernelSwitches(commandLine: "kexboot.kexec=sideways").invalid == ["kexboot.kexec=sideways"])
        #expect(DaemonConfig(text: "kexec = load\nkexec =\n", path: "k.conf").kexec == .auto)
        #expect(KernelSwitches(commandLine: "kexboot.timeout=3").kexec == nil)
    }

    @Test func settingALineRewritesOnlyThatLine() {
        let config = DaemonConfig(text: "# keep me\ntimeout = 5\n\n[interface eth0]\nmethod = dhcp\n", path: "k.conf")
        #expect(config.text(setting: "timeout", to: "9") == "# keep me\ntimeout = 9\n\n[interface eth0]\nmethod = dhcp\n")
        #expect(config.text(setting: "autoboot", to: "false") == "# keep me\ntimeout = 5\n\nautoboot = false\n[interface eth0]\nmethod = dhcp\n")
    }
}

extension DaemonConfigTests {
    @Test func interfaceSettingsAreSetInTheirSection() throws {
        var config = DaemonConfig(text: "timeout = 5\n\n[interface eth0]\nmethod = dhcp\n", path: "k.conf")
        #expect(config.text(setting: "interface.eth0.method", to: "static") == "timeout = 5\n\n[interface eth0]\nmethod = static\n")
        #expect(config.text(setting: "interface.eth0.address", to: "10.0.0.2/24")
            == "timeout = 5\n\n[interface eth0]\naddress = 10.0.0.2/24\nmethod = dhcp\n")
        #expect(config.text(setting: "interface.eth1.method", to: "ignore")
            == "timeout = 5\n\n[interface eth0]\nmethod = dhcp\n\n[interface eth1]\nmethod = ignore\n")
        try config.set("interface.eth1.dns", "1.1.1.1 9.9.9.9")
        #expect(config.value("interface.eth1.dns") == .array([.string("1.1.1.1"), .string("9.9.9.9")]))
        #expect(config.value("interface.eth0.method") == .string("dhcp"))
        #expect(throws: KexbootError.self) { try config.set("interface.eth0.method", "carrier-pigeon") }
        #expect(!DaemonConfig.isKey("interface.eth0.colour"))
        #expect(!DaemonConfig.isKey("interface..method"))
        #expect(!DaemonConfig.isKey("interface.a b.method"))
    }
}

@Suite struct BootOrderTests {
    func device(_ id: String, type: String = "disk", label: String? = nil, uuid: String? = nil) -> ServerDevice {
        var d = ServerDevice(id: id, type: type, disk: String(id.prefix(3)), node: "/dev/\(id)", size: 1)
        d.label = label
        d.uuid = uuid
        return d
    }

    @Test func priorityIsTheFirstMatchingRule() throws {
        let order = try BootOrder(parsing: "usb, uuid:ABCD, name:vdb, disk")
        #expect(order.priority(of: device("sdb1", type: "usb")) == 0)
        #expect(order.priority(of: device("vda2", uuid: "abcd")) == 1)
        #expect(order.priority(of: device("vdb1")) == 2)
        #expect(order.priority(of: device("vda1")) == 3)
        #expect(order.priority(of: device("sr0", type: "cdrom")) == nil)
    }

    @Test(arguments: ["", "floppy", "colour:red", "uuid:", ":x"])
    func badRulesAreRefused(text: String) {
        #expect(throws: KexbootError.self) { try BootOrder(parsing: text) }
    }

    @Test func candidatesAreDefaultsByDevicePriorityThenAppearance() throws {
        var registry = Registry()
        func option(_ device: String, _ n: Int, default d: Bool) -> ServerOption {
            ServerOption(id: "\(device)#\(n)", device: device, option: BootOption(id: "\(n)", title: "\(device) \(n)"), isDefault: d, configTimeout: nil)
        }
        _ = registry.set(device("vda1"), options: [option("vda1", 0, default: false), option("vda1", 1, default: true)])
        _ = registry.set(device("sdb1", type: "usb"), options: [option("sdb1", 0, default: true)])
        _ = registry.set(device("vdb1"), options: [option("vdb1", 0, default: true)])
        let order = try BootOrder(parsing: "usb, disk")
        #expect(order.candidates(registry).map(\.id) == ["sdb1#0", "vda1#1", "vdb1#0"])
        #expect(order.candidates(registry, excluding: ["sdb1#0"]).map(\.id) == ["vda1#1", "vdb1#0"])
        #expect(try BootOrder(parsing: "label:NONE").candidates(registry).isEmpty)
        let events = registry.remove(device: "vda1")
        #expect(events.map(\.0) == ["option-removed", "option-removed", "device-removed"])
    }
}
