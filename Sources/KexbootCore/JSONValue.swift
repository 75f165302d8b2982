/// A JSON document with object keys kept in the order they were given, so output is stable
/// and follows the order the specs list the fields in. No Foundation needed.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// For 64-bit addresses and sizes that do not fit `Int`.
    case uint(UInt64)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.uint(let x), .uint(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(serialized())
    }

    public static func optional(_ value: String?) -> JSONValue {
        value.map(JSONValue.string) ?? .null
    }

    public static func optional(_ value: Int?) -> JSONValue {
        value.map(JSONValue.int) ?? .null
    }

    /// The member named `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// Pretty-printed with two-space indentation (the form golden files use), or on one
    /// line when `compact` (the form the socket protocol uses).
    public func serialized(compact: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(256)
        write(to: &out, indent: 0, compact: compact, flush: nil)
        return out
    }

    /// Writes the serialized form to `stream` in chunks of about 64 KiB, so a large
    /// document is never held whole in memory.
    public func write<Stream: TextOutputStream>(to stream: inout Stream, compact: Bool = false) {
        var out = ""
        out.reserveCapacity(1 << 16)
        withoutActuallyEscaping({ (chunk: inout String) in
            stream.write(chunk)
            chunk.removeAll(keepingCapacity: true)
        }) { flush in
            write(to: &out, indent: 0, compact: compact, flush: flush)
        }
        stream.write(out)
    }

    private static let indents: [String] = (0..<16).map { String(repeating: "  ", count: $0) }

    private static func newline(_ out: inout String, _ level: Int) {
        out += "\n"
        out += level < indents.count ? indents[level] : String(repeating: "  ", count: level)
    }

    private func write(to out: inout String, indent: Int, compact: Bool, flush: ((inout String) -> Void)?) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if !compact { JSONValue.newline(&out, indent + 1) }
                item.write(to: &out, indent: indent + 1, compact: compact, flush: flush)
                if let flush, out.utf8.count >= 1 << 16 { flush(&out) }
            }
            if !compact { JSONValue.newline(&out, indent) }
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                if !compact { JSONValue.newline(&out, indent + 1) }
                JSONValue.writeString(key, to: &out)
                out += compact ? ":" : ": "
                value.write(to: &out, indent: indent + 1, compact: compact, flush: flush)
            }
            if !compact { JSONValue.newline(&out, indent) }
            out += "}"
        }
    }

    private static let hexDigits: [Character] = Array("0123456789abcdef")

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        // Most strings need no escaping: copy them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c || $0 == 0x7f }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let v = Int(scalar.value)
                    out += "\\u00"
                    out.append(hexDigits[v >> 4])
                    out.append(hexDigits[v & 15])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
