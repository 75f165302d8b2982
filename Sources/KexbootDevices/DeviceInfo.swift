import KexbootCore

/// A block or network device as kexboot tracks it.
public struct DeviceInfo: Hashable, Sendable {
    public enum Subsystem: String, Sendable { case block, net }

    public var subsystem: Subsystem
    /// The kernel name: `vda`, `vda2`, `loop0p1`, `eth0`.
    public var name: String
    /// `/dev/vda2` (block devices only).
    public var node: String?
    /// `disk` or `partition` for block devices.
    public var devtype: String?
    /// The whole disk a partition belongs to.
    public var parent: String?
    /// Bytes (block devices).
    public var size: UInt64?
    public var removable: Bool
    /// The MAC address (network devices).
    public var address: String?
    /// The `ID_*` properties udevd adds (absent when udevd does not run).
    public var properties: [String: String]

    public var isPartition: Bool { devtype == "partition" }

    public init(subsystem: Subsystem, name: String, node: String? = nil, devtype: String? = nil, parent: String? = nil,
                size: UInt64? = nil, removable: Bool = false, address: String? = nil, properties: [String: String] = [:]) {
        self.subsystem = subsystem
        self.name = name
        self.node = node
        self.devtype = devtype
        self.parent = parent
        self.size = size
        self.removable = removable
        self.address = address
        self.properties = properties
    }

    public var json: JSONValue {
        .object([
            ("subsystem", .string(subsystem.rawValue)),
            ("name", .string(name)),
            ("node", .optional(node)),
            ("devtype", .optional(devtype)),
            ("parent", .optional(parent)),
            ("size", size.map(JSONValue.uint) ?? .null),
            ("removable", .bool(removable)),
            ("address", .optional(address)),
            ("properties", .object(properties.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ])
    }
}

/// What the device monitor reports.
public enum DeviceEvent: Hashable, Sendable {
    case added(DeviceInfo)
    case removed(DeviceInfo)
    case changed(DeviceInfo)

    public var device: DeviceInfo {
        switch self {
        case .added(let d), .removed(let d), .changed(let d): d
        }
    }

    public var action: String {
        switch self {
        case .added: "add"
        case .removed: "remove"
        case .changed: "change"
        }
    }
}
