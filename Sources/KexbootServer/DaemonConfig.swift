import KexbootConfig
import KexbootCore
import KexbootNet
import KexbootOS

/// The daemon's own settings (`/etc/kexboot/kexboot.conf`; `Configs/kexboot.conf` is the
/// commented example): `key = value` lines, `#` comments, and `[interface NAME]` sections
/// for per-interface network settings. Unknown keys and bad values are diagnostics with
/// file:line; the rest of the file still applies.
///
/// `config-set` rewrites single lines in place, so comments and layout survive.
public struct DaemonConfig: Sendable {
    public struct Interface: Sendable, Equatable {
        public var name: String
        /// `dhcp` (DHCP and DHCPv6), `dhcp4`, `dhcp6`, `static` or `ignore`.
        public var method = "dhcp"
        public var address: String?
        public var gateway: String?
        public var dns: [String] = []
    }

    public var autoboot = true
    /// Seconds; `nil` means the boot config's own timeout, else 10.
    public var timeout: Int?
    /// Seconds from the daemon's start before autoboot may fire, so slower devices (USB,
    /// network) can still present a default of higher priority. Only a candidate that the
    /// boot order does not rank first waits: nothing can beat one that it does.
    public var settle = 3
    public var bootOrder = BootOrder()
    public var allow: BootOrder?
    public var deny: BootOrder?
    /// crypt(3) hash; when set, clients other than root must authenticate for anything but
    /// listing, booting the default and cancelling autoboot.
    public var passwordHash: String?
    /// The token TCP clients authenticate with.
    public var token: String?
    public var listen: String?
    /// A group (name or number) given read/write access to the socket (mode 0660).
    public var socketGroup: String?
    public var shell = true
    public var console: [String] = []
    public var logLevel = "info"
    public var httpProxy: String?
    public var httpsProxy: String?
    public var noProxy: String?
    public var caFile: String?
    public var insecureHosts: [String] = []
    /// Seconds a fetch (a config, a kernel, an initrd) may take in all, retries included.
    public var fetchTimeout = FetchSettings.defaultTimeout
    /// The largest file a fetch accepts, in bytes.
    public var fetchMaxSize = FetchSettings.defaultMaxSize
    /// Seconds between re-reads of network configs (and retries of failed lookups).
    public var networkRefresh = 300
    /// Which system call loads kernels (`kexboot.kexec=` overrides it).
    public var kexec = Kexec.Syscall.auto
    public var interfaces: [Interface] = []

    public private(set) var path: String?
    public private(set) var lines: [String] = []
    public private(set) var diagnostics: [Diagnostic] = []

    /// The keys `config-get`/`config-set` know, in the order they are shown.
    public static let keys = [
        "autoboot", "timeout", "settle", "boot-order", "allow", "deny", "password", "token", "listen", "socket-group",
        "shell", "console", "log-level", "http-proxy", "https-proxy", "no-proxy", "ca-file", "insecure-hosts",
        "fetch-timeout", "fetch-max-size", "network-refresh", "kexec",
    ]
    static let interfaceKeys = ["method", "address", "gateway", "dns"]
    /// Never shown to clients.
    static let secretKeys: Set<String> = ["password", "token"]

    public init() {}

    public init(text: String, path: String) {
        self.path = path
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var section: Int?
        for (n, raw) in lines.enumerated() {
            let line = raw.trimmingBlanks()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let location = SourceLocation(file: path, line: n + 1, column: 1)
            if line.hasPrefix("[") {
                let inner = line.dropFirst().prefix { $0 != "]" }.split(separator: " ", omittingEmptySubsequences: true)
                guard line.hasSuffix("]"), inner.count == 2, inner[0] == "interface" else {
                    diagnostics.append(Diagnostic(.error, "expected [interface NAME]", at: location))
                    section = -1
                    continue
                }
                interfaces.append(Interface(name: String(inner[1])))
                section = interfaces.count - 1
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                diagnostics.append(Diagnostic(.error, "expected key = value", at: location))
                continue
            }
            let key = String(line[..<eq]).trimmingBlanks()
            let value = String(line[line.index(after: eq)...]).trimmingBlanks().unquoted()
            do {
                if let section {
                    guard section >= 0 else { continue }
                    try setInterface(section, key, value)
                } else {
                    try set(key, value)
                }
            } catch {
                diagnostics.append(Diagnostic(.error, "\(error)", at: location))
            }
        }
    }

    /// `interface.NAME.FIELD` (FIELD one of method, address, gateway, dns): a setting of
    /// an `[interface NAME]` section, as `config-get`/`config-set` name it.
    public static func interfaceKey(_ key: String) -> (name: String, field: String)? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "interface", !parts[1].isEmpty, interfaceKeys.contains(String(parts[2])),
              parts[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ":" || $0 == "@" }) else { return nil }
        return (String(parts[1]), String(parts[2]))
    }

    public static func isKey(_ key: String) -> Bool { keys.contains(key) || interfaceKey(key) != nil }

    /// Applies one setting (as from the file or `config-set`).
    public mutating func set(_ key: String, _ value: String) throws {
        if let (name, field) = DaemonConfig.interfaceKey(key) {
            let index = interfaces.firstIndex { $0.name == name } ?? {
                interfaces.append(Interface(name: name))
                return interfaces.count - 1
            }()
            return try setInterface(index, field, value)
        }
        func seconds() throws -> Int {
            guard let n = Int(value), n >= -1, n <= 86_400 else { throw KexbootError(.invalidArgument, "\(key): \(value) is not a number of seconds") }
            return n
        }
        func bool() throws -> Bool {
            switch value.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw KexbootError(.invalidArgument, "\(key): \(value) is not true or false")
            }
        }
        func list() -> [String] { value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }
        let text: String? = value.isEmpty ? nil : value
        switch key {
        case "autoboot": autoboot = try bool()
        case "timeout": timeout = value.isEmpty ? nil : try seconds()
        case "network-refresh":
            guard let s = Int(value), s >= 5, s <= 86400 else {
                throw KexbootError(.invalidArgument, "network-refresh: \(value) is not a whole number of seconds (5 to 86400)")
            }
            networkRefresh = s
        case "settle":
            guard let s = Int(value), s >= 0, s <= 600 else { throw KexbootError(.invalidArgument, "settle: \(value) is not a whole number of seconds (0 to 600)") }
            settle = s
        case "boot-order": bootOrder = value.isEmpty ? BootOrder() : try BootOrder(parsing: value)
        case "allow": allow = value.isEmpty ? nil : try BootOrder(parsing: value)
        case "deny": deny = value.isEmpty ? nil : try BootOrder(parsing: value)
        case "password":
            if let text, text.hasPrefix("$") == false {
                throw KexbootError(.invalidArgument, "password: a crypt(3) hash is expected (such as the output of `openssl passwd -6`), never the password itself")
            }
            passwordHash = text
        case "token":
            if let text, text.utf8.count < 16 { throw KexbootError(.invalidArgument, "token: at least 16 characters") }
            token = text
        case "listen":
            if let text, Socket.Address.parseTCP(text) == nil { throw KexbootError(.invalidArgument, "listen: \(text) is not HOST:PORT") }
            listen = text
        case "socket-group": socketGroup = text
        case "shell": shell = try bool()
        case "console": console = list()
        case "log-level":
            guard ["debug", "info", "notice", "warning", "error"].contains(value) else {
                throw KexbootError(.invalidArgument, "log-level: \(value) is not debug, info, notice, warning or error")
            }
            logLevel = value
        case "http-proxy": httpProxy = text
        case "https-proxy": httpsProxy = text
        case "no-proxy": noProxy = text
        case "ca-file": caFile = text
        case "insecure-hosts": insecureHosts = list()
        case "fetch-timeout":
            // Empty: back to the default. Never unlimited: a server trickling bytes would
            // hold the fetch (and the boot) for ever.
            guard value.isEmpty || Int(value).map({ (1...86_400).contains($0) }) == true else {
                throw KexbootError(.invalidArgument, "fetch-timeout: \(value) is not a whole number of seconds (1 to 86400)")
            }
            fetchTimeout = Int(value) ?? FetchSettings.defaultTimeout
        case "fetch-max-size":
            guard value.isEmpty || ByteCount(parsing: value) != nil else {
                throw KexbootError(.invalidArgument, "fetch-max-size: \(value) is not a size (bytes, or a number with K, M or G)")
            }
            fetchMaxSize = ByteCount(parsing: value)?.bytes ?? FetchSettings.defaultMaxSize
        case "kexec":
            guard let syscall = value.isEmpty ? .auto : Kexec.Syscall(rawValue: value) else { throw KexbootError(.invalidArgument, "kexec: \(value) is not auto, file or load") }
            kexec = syscall
        default: throw KexbootError(.invalidArgument, "unknown setting \(key)")
        }
    }

    mutating func setInterface(_ index: Int, _ key: String, _ value: String) throws {
        switch key {
        case "method":
            guard ["dhcp", "dhcp4", "dhcp6", "static", "ignore"].contains(value) else {
                throw KexbootError(.invalidArgument, "method: \(value) is not dhcp, dhcp4, dhcp6, static or ignore")
            }
            interfaces[index].method = value
        case "address": interfaces[index].address = value
        case "gateway": interfaces[index].gateway = value
        case "dns": interfaces[index].dns = value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        default: throw KexbootError(.invalidArgument, "unknown interface setting \(key)")
        }
    }

    /// The value of a key as text (secrets are shown as set or not, never their value).
    public func value(_ key: String) -> JSONValue? {
        if let (name, field) = DaemonConfig.interfaceKey(key) {
            guard let i = interfaces.first(where: { $0.name == name }) else { return .null }
            switch field {
            case "method": return .string(i.method)
            case "address": return .optional(i.address)
            case "gateway": return .optional(i.gateway)
            default: return .array(i.dns.map(JSONValue.string))
            }
        }
        return switch key {
        case "autoboot": .bool(autoboot)
        case "timeout": .optional(timeout)
        case "settle": .int(settle)
        case "network-refresh": .int(networkRefresh)
        case "boot-order": .string(bootOrder.description)
        case "allow": .optional(allow?.description)
        case "deny": .optional(deny?.description)
        case "password": .bool(passwordHash != nil)
        case "token": .bool(token != nil)
        case "listen": .optional(listen)
        case "socket-group": .optional(socketGroup)
        case "shell": .bool(shell)
        case "console": .array(console.map(JSONValue.string))
        case "log-level": .string(logLevel)
        case "http-proxy": .optional(httpProxy)
        case "https-proxy": .optional(httpsProxy)
        case "no-proxy": .optional(noProxy)
        case "ca-file": .optional(caFile)
        case "insecure-hosts": .array(insecureHosts.map(JSONValue.string))
        case "fetch-timeout": .int(fetchTimeout)
        case "fetch-max-size": .int(Int(fetchMaxSize))
        case "kexec": .string(kexec.rawValue)
        default: nil
        }
    }

    public var json: JSONValue {
        var members = DaemonConfig.keys.map { ($0, value($0)!) }
        members.append(("interfaces", .array(interfaces.map { i in
            .object([("name", .string(i.name)), ("method", .string(i.method)), ("address", .optional(i.address)),
                     ("gateway", .optional(i.gateway)), ("dns", .array(i.dns.map(JSONValue.string)))])
        })))
        return .object(members)
    }

    /// The file's text with `key` set to `value`: the line that set it is rewritten (the
    /// last one, which is the one that counts), else a line is added before the first
    /// section.
    public func text(setting key: String, to value: String) -> String {
        if let (name, field) = DaemonConfig.interfaceKey(key) { return text(interface: name, field, to: value) }
        var out = lines
        var lastLine: Int?
        var firstSection: Int?
        for (n, raw) in lines.enumerated() {
            let line = raw.trimmingBlanks()
            if line.hasPrefix("[") { firstSection = firstSection ?? n; continue }
            if firstSection != nil { continue }
            if let eq = line.firstIndex(of: "="), !line.hasPrefix("#"), String(line[..<eq]).trimmingBlanks() == key { lastLine = n }
        }
        let newLine = "\(key) = \(value)"
        if let lastLine {
            out[lastLine] = newLine
        } else if let firstSection {
            out.insert(newLine, at: firstSection)
        } else {
            out.append(newLine)
        }
        return out.joined(separator: "\n") + "\n"
    }
}

extension DaemonConfig {
    /// The file's text with `field` of `[interface NAME]` set: its line in that section is
    /// rewritten, else added under the section's header, else the section is added at the end.
    func text(interface name: String, _ field: String, to value: String) -> String {
        var out = lines
        var header: Int?
        var fieldLine: Int?
        var inSection = false
        for (n, raw) in lines.enumerated() {
            let line = raw.trimmingBlanks()
            if line.hasPrefix("[") {
                let words = line.dropFirst().prefix { $0 != "]" }.split(separator: " ")
                inSection = words.count == 2 && words[0] == "interface" && words[1] == name
                if inSection { header = n }
                continue
            }
            if inSection, let eq = line.firstIndex(of: "="), !line.hasPrefix("#"), String(line[..<eq]).trimmingBlanks() == field {
                fieldLine = n
            }
        }
        let newLine = "\(field) = \(value)"
        if let fieldLine {
            out[fieldLine] = newLine
        } else if let header {
            out.insert(newLine, at: header + 1)
        } else {
            if let last = out.last, !last.isEmpty { out.append("") }
            out += ["[interface \(name)]", newLine]
        }
        return out.joined(separator: "\n") + "\n"
    }
}

extension String {
    /// `"a b"` → `a b` (a value may be quoted to keep blanks at its ends).
    func unquoted() -> String {
        if count >= 2, (hasPrefix("\"") && hasSuffix("\"")) || (hasPrefix("'") && hasSuffix("'")) {
            return String(dropFirst().dropLast())
        }
        return self
    }
}
