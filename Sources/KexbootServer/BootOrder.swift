import KexbootCore

/// Which devices may autoboot and in what order, as petitboot's `bootdevs`: a list of
/// rules, each a device type (`disk`, `usb`, `cdrom`, `network`), `any`, or one device by
/// `uuid:`, `label:`, `partuuid:`, `partlabel:`, `mac:` or `name:` (kernel name of the
/// partition or its disk). A device's priority is the first rule it matches; a device no
/// rule matches never autoboots (it can still be chosen by hand).
public struct BootOrder: Sendable, Equatable, CustomStringConvertible {
    public enum Rule: Sendable, Equatable {
        case type(String)
        case any
        case identity(String)
        case mac(String)
        case name(String)
    }

    public var rules: [Rule]

    public static let types: Set<String> = ["disk", "usb", "cdrom", "network"]

    public init(rules: [Rule] = [.any]) {
        self.rules = rules
    }

    /// `disk, uuid:1234, any` (commas or blanks between rules).
    public init(parsing text: String) throws {
        var rules: [Rule] = []
        for word in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            let w = String(word)
            if w == "any" {
                rules.append(.any)
            } else if BootOrder.types.contains(w) {
                rules.append(.type(w))
            } else if let colon = w.firstIndex(of: ":"), colon != w.startIndex, w.index(after: colon) != w.endIndex {
                let kind = w[..<colon], value = String(w[w.index(after: colon)...])
                switch kind {
                case "uuid", "label", "partuuid", "partlabel": rules.append(.identity(w))
                case "mac": rules.append(.mac(value.lowercased()))
                case "name": rules.append(.name(value))
                default: throw KexbootError(.invalidArgument, "boot order: \(w): unknown kind \(kind) (uuid, label, partuuid, partlabel, mac, name)")
                }
            } else {
                throw KexbootError(.invalidArgument, "boot order: \(w): not a device type (disk, usb, cdrom, network), any, or KIND:VALUE")
            }
        }
        guard !rules.isEmpty else { throw KexbootError(.invalidArgument, "boot order: empty") }
        self.rules = rules
    }

    public var description: String {
        rules.map {
            switch $0 {
            case .type(let t): t
            case .any: "any"
            case .identity(let i): i
            case .mac(let m): "mac:\(m)"
            case .name(let n): "name:\(n)"
            }
        }.joined(separator: ", ")
    }

    /// Lower is sooner; `nil` means the device does not autoboot.
    public func priority(of device: ServerDevice) -> Int? {
        rules.firstIndex { rule in
            switch rule {
            case .any: true
            case .type(let t): device.type == t
            case .identity(let i): device.matches(i)
            case .mac(let m): device.mac?.lowercased() == m
            case .name(let n): device.id == n || device.disk == n
            }
        }
    }

    /// The default options that may autoboot, best first: by the device's priority, then
    /// in the order they appeared. Options in `excluding` (already tried) are left out.
    public func candidates(_ registry: Registry, excluding: Set<String> = []) -> [ServerOption] {
        var ranked: [(Int, Int, ServerOption)] = []
        for (order, option) in registry.options.enumerated() where option.isDefault && !excluding.contains(option.id) {
            guard let device = registry.device(option.device), let p = priority(of: device) else { continue }
            ranked.append((p, order, option))
        }
        return ranked.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }
}
