import KexbootCore

/// iPXE's configuration settings as a script sees them (https://ipxe.org/settings): named
/// values, optionally scoped to a network device (`net0/mac`), read as `${name}` or
/// `${name:type}`. An unset setting expands to nothing.
struct IPXESettings: Hashable, Sendable {
    private(set) var values: [String: String] = [:]
    /// About the bytes the settings take: what hashing or comparing them costs.
    private(set) var size = 0

    /// The settings a script starts with: what iPXE knows of the machine (`buildarch`,
    /// `platform`), then the `--env` variables. GRUB-style network names map to iPXE's:
    /// `net_default_mac` → `mac` and `net0/mac`, `net_default_ip` → `ip` and `net0/ip`,
    /// `net_default_server` → `next-server`, and any other `net_default_X` → `X`; every
    /// `--env KEY=VALUE` is also the setting `KEY` itself (and wins).
    static func presets(env: [(String, String)], platform: Platform) -> IPXESettings {
        var settings = IPXESettings()
        let arch: String
        switch platform.grubCPU {
        case "i386": arch = "i386"
        case "arm": arch = "arm32"
        default: arch = platform.grubCPU
        }
        settings.set("buildarch", arch)
        settings.set("platform", platform.grubPlatform == "pc" ? "pcbios" : platform.grubPlatform)
        for (key, value) in env where key.hasPrefix("net_default_") {
            var name = String(key.dropFirst("net_default_".count))
            if name == "server" { name = "next-server" }
            guard !name.isEmpty else { continue }
            settings.set(name, value)
            if name != "uuid" { settings.set("net0/" + name, value) }
        }
        for (key, value) in env { settings.set(key, value) }
        return settings
    }

    /// A setting name as `set`/`clear` give it, without its `:type` and with a device's
    /// DHCP scope folded into the device (`net0.dhcp/ip` → `net0/ip`).
    static func canonicalName(_ name: String) -> String {
        var base = Substring(name)
        if let colon = base.firstIndex(of: ":") { base = base[..<colon] }
        if let slash = base.lastIndex(of: "/") {
            var scope = base[..<slash]
            if let dot = scope.firstIndex(of: ".") { scope = scope[..<dot] }
            return String(scope) + "/" + base[base.index(after: slash)...]
        }
        return String(base)
    }

    /// Sets (or, for `nil` or the empty string, deletes) a setting.
    mutating func set(_ name: String, _ value: String?) {
        let key = Self.canonicalName(name)
        if let old = values[key] { size -= key.utf8.count + old.utf8.count + 32 }
        if let value, !value.isEmpty {
            values[key] = value
            size += key.utf8.count + value.utf8.count + 32
        } else {
            values[key] = nil
        }
    }

    /// A setting's value: exact name first, then across the global/`net0` scopes (iPXE
    /// finds `${mac}` on the first network device and `${net0/x}` set globally).
    func value(_ name: String) -> String? {
        let key = Self.canonicalName(name)
        if let v = values[key] { return v }
        if let slash = key.lastIndex(of: "/") {
            return key[..<slash] == "net0" ? values[String(key[key.index(after: slash)...])] : nil
        }
        return values["net0/" + key]
    }

    /// A word with every `${name}` / `${name:type}` replaced by its value; innermost first,
    /// so `${net${i}/mac}` works. An unterminated `${` stays as written.
    func expand(_ word: String) -> String {
        var produced = 0
        return expand(word, limit: .max, produced: &produced)!
    }

    /// `expand`, or `nil` as soon as the word would grow past `limit` bytes (so `${a}${a}`
    /// of a long `a` is never built). `produced` counts the bytes values contributed.
    func expand(_ word: String, limit: Int, produced: inout Int) -> String? {
        guard word.utf8.contains(UInt8(ascii: "$")) else { return word.utf8.count <= limit ? word : nil }
        let bytes = Array(word.utf8)
        var stack: [[UInt8]] = [[]]
        // Bytes the stack holds: the word's length once the `${`s still open are put back.
        var length = 0
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") {
                stack.append([])
                length += 2
                i += 2
                continue
            }
            if c == UInt8(ascii: "}"), stack.count > 1 {
                let inner = stack.removeLast()
                let value = lookup(String(decoding: inner, as: UTF8.self)).utf8
                length += value.count - inner.count - 2
                guard length <= limit else { return nil }
                produced += value.count
                stack[stack.count - 1] += value
                i += 1
                continue
            }
            stack[stack.count - 1].append(c)
            length += 1
            i += 1
        }
        guard length <= limit else { return nil }
        // Unterminated `${`s, outermost first, each followed by what came after it.
        var out = stack[0]
        for open in stack.dropFirst() {
            out += Array("${".utf8)
            out += open
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `${name:type}`: the value formatted as the type asks (hex types re-separate a MAC-style
    /// value or hex-encode text; other types give the value as it is).
    func lookup(_ expression: String) -> String {
        var name = Substring(expression)
        var type = ""
        if let colon = name.firstIndex(of: ":") {
            type = String(name[name.index(after: colon)...]).lowercased()
            name = name[..<colon]
        }
        guard let value = value(String(name)) else { return "" }
        switch type {
        case "hex", "hexhyp", "hexraw":
            let separator = type == "hex" ? ":" : type == "hexhyp" ? "-" : ""
            let parts = value.split(whereSeparator: { $0 == ":" || $0 == "-" })
            if parts.count > 1, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) {
                return parts.map { $0.lowercased() }.joined(separator: separator)
            }
            if value.count == 2 && value.allSatisfy(\.isHexDigit) { return value.lowercased() }
            // Built as bytes: a long value is formatted in one pass.
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(value.utf8.count * 3)
            for byte in value.utf8 {
                if !out.isEmpty { out += separator.utf8 }
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 15)])
            }
            return String(decoding: out, as: UTF8.self)
        case "uristring":
            let digits = Array("0123456789ABCDEF".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(value.utf8.count)
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                     UInt8(ascii: "."), UInt8(ascii: "~"):
                    out.append(byte)
                default:
                    out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
                }
            }
            return String(decoding: out, as: UTF8.self)
        default:
            return value
        }
    }
}
