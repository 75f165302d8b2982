import KexbootCore

/// The output of reading one boot configuration (parse-json.md).
public struct ParseResult: Sendable {
    public var format: ConfigFormat
    /// The file parsed, absolute within the filesystem.
    public var config: String
    public var defaultIndex: Int?
    public var timeout: Int?
    /// GRUB's `timeout_style` (`menu`, `countdown`, `hidden`) when the config sets it.
    public var timeoutStyle: String?
    /// The HTTP proxy the config asks for its files to be fetched through: pxelinux
    /// `PROXY url` (a petitboot-style extension, not a syslinux keyword) or iPXE's
    /// `${http-proxy}` setting. Emitted as `"proxy"` only when set (an optional addition to
    /// parse-json.md).
    public var proxy: String?
    public var entries: [BootOption]
    public var diagnostics: [Diagnostic]

    public init(format: ConfigFormat, config: String, defaultIndex: Int? = nil, timeout: Int? = nil,
                timeoutStyle: String? = nil, entries: [BootOption] = [], diagnostics: [Diagnostic] = []) {
        self.format = format
        self.config = config
        self.defaultIndex = defaultIndex
        self.timeout = timeout
        self.timeoutStyle = timeoutStyle
        self.entries = entries
        self.diagnostics = diagnostics
    }

    /// Points `default` at the entry whose id is `name` (or, failing that, the first index
    /// `otherwise` picks); a name that matches nothing is a warning and the first entry.
    mutating func selectDefault(_ name: String?, what: String = "entry", otherwise: ((String) -> Int?)? = nil) {
        guard let name else { return }
        if let i = entries.firstIndex(where: { $0.id == name }) ?? otherwise?(name) {
            defaultIndex = i
        } else if !entries.isEmpty {
            diagnostics.append(Diagnostic(.warning, "default '\(name)' names no \(what); using the first entry", file: config))
        }
    }

    /// Makes ids unique (`#2`, `#3` suffixes) and checks `default` against `entries`.
    mutating func finish() {
        var used: [String: Int] = [:]
        for i in entries.indices {
            let base = entries[i].id
            if let n = used[base] {
                var k = n + 1
                while used["\(base)#\(k)"] != nil { k += 1 }
                used[base] = k
                entries[i].id = "\(base)#\(k)"
                used[entries[i].id] = 1
            } else {
                used[base] = 1
            }
        }
        if entries.isEmpty {
            defaultIndex = nil
        } else if defaultIndex == nil || defaultIndex! < 0 || defaultIndex! >= entries.count {
            defaultIndex = 0
        }
    }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("format", .string(format.rawValue)),
            ("config", .string(config)),
            ("default", .optional(defaultIndex)),
            ("timeout", .optional(timeout)),
        ]
        if let timeoutStyle { members.append(("timeout_style", .string(timeoutStyle))) }
        if let proxy { members.append(("proxy", .string(proxy))) }
        members.append(("entries", .array(entries.map(\.json))))
        members.append(("diagnostics", .array(diagnostics.map(\.json))))
        return .object(members)
    }
}

/// The config languages kexboot reads.
public enum ConfigFormat: String, Sendable, CaseIterable {
    case grub, bls, syslinux, pxelinux, yaboot, kboot, ipxe, native
}
