import KexbootCore
import KexbootOS

/// What a DHCP server said, as busybox udhcpc hands it to its script (environment
/// variables `ip`, `mask`, `router`, `dns`, `siaddr`, `serverid`, `bootfile`,
/// `boot_file`, `tftp`, `pxeconffile`, `pxepathprefix`, `reboottime`, …), or as
/// `kexboot dhcp6` does for a DHCPv6 lease (`family=inet6`, `ipv6`, `ipv6prefix`, `dns`,
/// `domain`, `serverid`, `lease`, `bootfile_url`, `bootfile_param`). busybox udhcpc6's
/// names are read too (`search` for the domain list); its `ipv6prefix` is a delegated
/// prefix (`ADDR/LEN`), not the address's, and leaves the address a /128.
public struct DHCPLease: Sendable, Equatable {
    public var interface: String
    /// A DHCPv6 lease: an IPv6 address (a /128), no routers, the boot file a URL.
    public var isIPv6 = false
    public var address: String?
    public var prefixLength: Int?
    public var routers: [String] = []
    public var dns: [String] = []
    public var domain: String?
    public var hostname: String?
    public var serverID: String?
    /// BOOTP `siaddr`: the next server.
    public var nextServer: String?
    /// Option 66 (a name or address), else BOOTP `sname`.
    public var tftpServer: String?
    /// Option 67, else the BOOTP `file` field.
    public var bootFile: String?
    /// Option 209: a pxelinux config file (relative to the prefix, or a URL).
    public var configFile: String?
    /// Option 210: the path prefix.
    public var pathPrefix: String?
    /// Option 211: seconds after which an unattended machine should try again.
    public var rebootTime: Int?
    public var leaseSeconds: Int?
    /// DHCPv6 option 60: the boot file's parameters.
    public var bootFileParameters: [String] = []

    public init(interface: String) {
        self.interface = interface
    }

    /// From udhcpc's script environment.
    public init(environment env: [String: String]) {
        interface = env["interface"] ?? ""
        if env["family"] == "inet6" {
            isIPv6 = true
            address = env["ipv6"].nonEmpty.flatMap { DHCPv6.address($0).map(DHCPv6.isAssignable) == true ? $0 : nil }
            prefixLength = env["ipv6prefix"].flatMap { Int($0) }.flatMap { (1...128).contains($0) ? $0 : nil } ?? 128
            // A link-local server is reachable through this interface only: resolv.conf
            // names it with its zone (`fe80::1%eth0`).
            let name = interface
            dns = env["dns"].words.compactMap { text in
                guard let bytes = DHCPv6.address(text) else { return nil }
                return bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 ? (name.isEmpty ? nil : text + "%" + name) : text
            }
            domain = env["domain"].nonEmpty ?? env["search"].nonEmpty
            serverID = env["serverid"].nonEmpty
            bootFile = env["bootfile_url"].nonEmpty
            bootFileParameters = Self.parameters(env["bootfile_param"])
            leaseSeconds = env["lease"].flatMap { Int($0) }
            return
        }
        address = env["ip"].nonEmpty
        prefixLength = env["mask"].flatMap { Int($0) } ?? env["subnet"].flatMap(Netlink.prefixLength)
        routers = env["router"].words
        dns = env["dns"].words
        domain = env["domain"].nonEmpty
        hostname = env["hostname"].nonEmpty
        serverID = env["serverid"].nonEmpty
        nextServer = env["siaddr"].nonEmpty.flatMap { $0 == "0.0.0.0" ? nil : $0 }
        tftpServer = env["tftp"].nonEmpty ?? env["sname"].nonEmpty
        bootFile = env["bootfile"].nonEmpty ?? env["boot_file"].nonEmpty
        configFile = env["pxeconffile"].nonEmpty
        pathPrefix = env["pxepathprefix"].nonEmpty
        rebootTime = env["reboottime"].flatMap { Int($0) } ?? env["opt211"].flatMap { UInt32($0, radix: 16) }.map(Int.init)
        leaseSeconds = env["lease"].flatMap { Int($0) }
    }

    /// `bootfile_param`: a JSON array of strings (what `kexboot dhcp6` writes, so a
    /// parameter with blanks stays one), else blank-separated words.
    static func parameters(_ text: String?) -> [String] {
        guard let text = text.nonEmpty else { return [] }
        if text.hasPrefix("["), let value = try? JSONValue.parse(text), let items = value.arrayValue {
            return items.compactMap(\.stringValue)
        }
        return Optional(text).words
    }

    /// The host boot files come from: option 66, else `siaddr`, else the server id. A
    /// DHCPv6 server's id is a DUID, not a host: its boot file must be a URL.
    public var bootServer: String? { isIPv6 ? nil : tftpServer ?? nextServer ?? serverID }

    /// The variables configs see (GRUB's names; pxelinux IPAPPEND uses them).
    public func variables(mac: String?) -> [(String, String)] {
        var vars: [(String, String)] = []
        if let mac { vars.append(("net_default_mac", mac)) }
        if let address { vars.append(("net_default_ip", address)) }
        if let bootServer { vars.append(("net_default_server", bootServer)) }
        if let gateway = routers.first { vars.append(("net_default_gateway", gateway)) }
        // `mask` is whatever udhcpc's environment said: only a real prefix length makes a
        // netmask (`32 - p` traps for p near Int.min).
        if let p = prefixLength, !isIPv6, (0...32).contains(p) {
            let mask: UInt32 = p == 0 ? 0 : ~UInt32(0) << (32 - p)
            vars.append(("net_default_netmask", "\(mask >> 24).\(mask >> 16 & 255).\(mask >> 8 & 255).\(mask & 255)"))
        }
        if let hostname { vars.append(("net_default_hostname", hostname)) }
        return vars
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }

    var words: [String] { (self ?? "").split(separator: " ").map(String.init) }
}

/// Where the boot config is, from a lease: DHCP option 209 (a config file or URL), else
/// the pxelinux search — `pxelinux.cfg/` under the path prefix (option 210, else the boot
/// file's directory) tried with the client UUID, `01-<mac>`, the address in hex shortened
/// one digit at a time, and `default`. A boot file that is itself a URL or an iPXE script
/// is the config.
public struct PXELookup: Sendable, Equatable {
    /// The config URLs to try, in order.
    public var candidates: [String]
    /// What relative names in the config resolve against.
    public var prefix: String

    /// `nil` when the lease carries no boot hint at all (no 66, 67, 209 or 210): a plain
    /// address lease is not an invitation to probe the DHCP server for pxelinux files.
    public init?(lease: DHCPLease, mac: String?, uuid: String? = nil) {
        guard lease.bootFile != nil || lease.configFile != nil || lease.pathPrefix != nil || lease.tftpServer != nil else {
            return nil
        }
        let server = lease.bootServer
        // A DHCP server names network files only: never one on this machine.
        for hint in [lease.bootFile, lease.configFile, lease.pathPrefix] {
            if let hint, hint.lowercased().hasPrefix("file:") { return nil }
        }
        func url(_ path: String) -> String? {
            if Fetcher.isURL(path) { return path }
            guard let server else { return nil }
            let host = server.contains(":") && !server.hasPrefix("[") ? "[\(server)]" : server
            return "tftp://\(host)" + Path.normalize("/" + path)
        }
        // The prefix: option 210 (a URL, a path on the boot server, or `host::path`),
        // else the directory of the boot file.
        var prefix: String
        if let p = lease.pathPrefix {
            var mapped = p
            if !Fetcher.isURL(p), let r = p.firstRange(of: "::") {
                let path = String(p[r.upperBound...])
                mapped = "tftp://" + p[..<r.lowerBound] + (path.hasPrefix("/") ? path : "/" + path)
            }
            guard let u = Fetcher.isURL(mapped) ? mapped : url(mapped) else { return nil }
            prefix = u
        } else if let file = lease.bootFile {
            guard let u = url(file) else { return nil }
            prefix = URLText.resolve("./", against: u)
        } else {
            guard let u = url("/") else { return nil }
            prefix = u
        }
        if !prefix.hasSuffix("/") { prefix += "/" }
        self.prefix = prefix
        if let config = lease.configFile {
            candidates = [URLText.resolve(config, against: prefix)]
            return
        }
        if let file = lease.bootFile, (Fetcher.isURL(file) && !Self.isLoader(file)) || file.lowercased().hasSuffix(".ipxe") {
            candidates = [url(file) ?? URLText.resolve(file, against: prefix)]
            return
        }
        var names: [String] = []
        if let uuid, !uuid.isEmpty { names.append(uuid.lowercased()) }
        if let mac, !mac.isEmpty { names.append("01-" + mac.lowercased().replacingColons()) }
        if let address = lease.address, let bytes = Netlink.ipv4(address) {
            let hex = bytes.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
            for length in stride(from: 8, through: 1, by: -1) { names.append(String(hex.prefix(length))) }
        }
        names.append("default")
        candidates = names.map { URLText.resolve("pxelinux.cfg/" + $0, against: prefix) }
    }

    /// A boot file URL that names a network bootstrap program (`pxelinux.0`, `grubx64.efi`,
    /// `undionly.kpxe`) rather than a config: the configs are looked for beside it, as
    /// pxelinux would.
    /// Only the path's last component counts: `http://boot.example.com` or
    /// `http://10.0.0.0` (no path) is not a loader.
    static func isLoader(_ url: String) -> Bool {
        var rest = Substring(url.lowercased())
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let scheme = rest.firstRange(of: "://") {
            rest = rest[scheme.upperBound...]
            guard let slash = rest.firstIndex(of: "/") else { return false }
            rest = rest[slash...]
        }
        guard let name = rest.split(separator: "/", omittingEmptySubsequences: false).last, !name.isEmpty else { return false }
        return [".0", ".efi", ".kpxe", ".kkpxe", ".pxe", ".com"].contains { name.hasSuffix($0) }
    }
}

/// The PXE client identity kexboot announces: option 93 (client system architecture,
/// RFC 4578 / IANA) and the matching option 60 vendor class.
public enum PXEArchitecture {
    /// 0x0007 x86-64 UEFI, 0x0000 x86 BIOS, 0x000b arm64 UEFI, 0x000e OpenPOWER (ppc64le).
    public static func code(machine: String = PXEArchitecture.machine, efi: Bool) -> UInt16 {
        switch machine {
        case "x86_64": efi ? 0x0007 : 0x0000
        case "aarch64", "arm64": 0x000b
        case "ppc64le", "ppc64": 0x000e
        case "i386", "i686": efi ? 0x0006 : 0x0000
        case "riscv64": 0x001b
        default: 0x0000
        }
    }

    /// The CPU kexboot was built for, as uname names it.
    public static var machine: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "aarch64"
        #elseif arch(powerpc64le)
        "ppc64le"
        #elseif arch(powerpc64)
        "ppc64"
        #else
        "unknown"
        #endif
    }

    public static func vendorClass(_ code: UInt16) -> String {
        "PXEClient:Arch:\(String(code).leftPadded(5)):UNDI:003000"
    }

    /// busybox udhcpc's arguments for one interface: foreground, our script, the PXE
    /// identity, and the options kexboot asks for (1, 3, 6, 12, 15, 17, 54, 66, 67, 209,
    /// 210, 211 — udhcpc asks for 1, 3, 6, 12, 15, 28, 42 itself).
    public static func udhcpcArguments(interface: String, script: String, code: UInt16) -> [String] {
        let hex = String(code, radix: 16).leftPadded(4)
        return ["-f", "-i", interface, "-s", script, "-t", "5", "-T", "2", "-A", "5",
                "-V", vendorClass(code), "-x", "0x5d:\(hex)", "-x", "0x5e:010201",
                "-O", "rootpath", "-O", "serverid", "-O", "tftp", "-O", "bootfile",
                "-O", "pxeconffile", "-O", "pxepathprefix", "-O", "reboottime"]
    }
}


extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
