import KexbootConfig
import KexbootCore

/// A device as the daemon offers it: a filesystem holding a boot config (a partition, a
/// bare filesystem, later a network lease), grouped by the disk it is on.
public struct ServerDevice: Sendable, Equatable {
    /// The kernel's name for the partition or filesystem: `vda2`, `loop0p1`, `sr0`.
    public var id: String
    /// `disk`, `usb`, `cdrom` or `network`.
    public var type: String
    /// The whole disk (`vda`), or the image file attached as it.
    public var disk: String
    public var node: String
    public var image: String?
    public var fstype: String?
    public var uuid: String?
    public var label: String?
    public var partuuid: String?
    public var partlabel: String?
    public var size: UInt64
    public var mac: String?
    /// Where the config was found and its format.
    public var config: String?
    public var format: String?
    /// The directory the config treated as `/` (a btrfs subvolume such as `/@`, or "").
    public var root: String = ""
    /// For a config added by URL: the directory on the daemon's own filesystem its
    /// relative files resolve in (a `file://` URL's directory). Nothing is mounted.
    public var directory: String?
    /// For a network config: the proxy its PXE `PROXY` line names, used for its files.
    public var proxy: String?
    /// For a network device: the interface and the address DHCP gave it.
    public var interface: String?
    public var address: String?
    /// For a network device with a DHCPv6 lease: that address.
    public var address6: String?
    /// For an ISO image found on a filesystem (type `iso`): the image file, from the top
    /// of that filesystem (`node`, of type `hostFstype`). Its files are read from the
    /// image in place.
    public var isoPath: String?
    public var hostFstype: String?
    /// For a PReP partition (format `prep`): its number and where it is on `node`, the disk.
    public var prep: (number: UInt32, start: UInt64, bytes: UInt64)?
    /// The whole disk's node and this partition's number on it (for the Open Firmware
    /// shim's bundle); nil for devices that are no partition of a disk.
    public var diskNode: String?
    public var partition: Int?

    public static func == (a: ServerDevice, b: ServerDevice) -> Bool {
        a.id == b.id && a.type == b.type && a.disk == b.disk && a.node == b.node && a.image == b.image && a.fstype == b.fstype
            && a.uuid == b.uuid && a.label == b.label && a.partuuid == b.partuuid && a.partlabel == b.partlabel && a.size == b.size
            && a.mac == b.mac && a.config == b.config && a.format == b.format && a.root == b.root && a.directory == b.directory
            && a.proxy == b.proxy && a.interface == b.interface && a.address == b.address && a.address6 == b.address6 && a.isoPath == b.isoPath
            && a.hostFstype == b.hostFstype && a.prep?.number == b.prep?.number && a.prep?.start == b.prep?.start
            && a.prep?.bytes == b.prep?.bytes && a.diskNode == b.diskNode && a.partition == b.partition
    }

    public init(id: String, type: String, disk: String, node: String, size: UInt64) {
        self.id = id
        self.type = type
        self.disk = disk
        self.node = node
        self.size = size
    }

    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("type", .string(type)), ("disk", .string(disk)), ("node", .string(node)),
            ("image", .optional(image)), ("fstype", .optional(fstype)), ("uuid", .optional(uuid)),
            ("label", .optional(label)), ("partuuid", .optional(partuuid)), ("partlabel", .optional(partlabel)),
            ("size", .uint(size)), ("mac", .optional(mac)), ("config", .optional(config)), ("format", .optional(format)),
        ] + (interface.map { [("interface", JSONValue.string($0)), ("address", .optional(address))] } ?? [])
          + (address6.map { [("address6", JSONValue.string($0))] } ?? [])
          + (isoPath.map { [("iso", JSONValue.string($0))] } ?? [])
          + (prep.map { [("prep_partition", JSONValue.int(Int($0.number)))] } ?? []))
    }

    /// Whether `identity` (`uuid:…`, `label:…`, `partuuid:…`, `partlabel:…`) names this device.
    func matches(_ identity: String) -> Bool {
        guard let colon = identity.firstIndex(of: ":") else { return false }
        let kind = identity[..<colon], value = String(identity[identity.index(after: colon)...])
        switch kind {
        case "uuid": return uuid?.lowercased() == value.lowercased()
        case "label": return label == value
        case "partuuid": return partuuid?.lowercased() == value.lowercased()
        case "partlabel": return partlabel == value
        default: return false
        }
    }
}

/// A boot option of a device.
public struct ServerOption: Sendable {
    /// `DEVICE#N`, N counting the config's entries from 0.
    public var id: String
    public var device: String
    public var option: BootOption
    /// The config's default entry.
    public var isDefault: Bool
    /// The config's own timeout, in seconds.
    public var configTimeout: Int?

    public var json: JSONValue {
        guard case .object(var members) = option.json else { return option.json }
        // The option's own id in its config becomes `name`; `id` is the daemon's.
        members[0] = ("name", members[0].1)
        return .object([("id", .string(id)), ("device", .string(device)), ("default", .bool(isDefault))] + members)
    }
}

/// Every device and option the daemon knows, in the order they appeared. Touched only on
/// the event loop.
public struct Registry {
    public private(set) var devices: [ServerDevice] = []
    public private(set) var options: [ServerOption] = []
    /// Changes whenever anything in the registry does (for caching what is derived).
    public private(set) var generation = 0

    public init() {}

    public func device(_ id: String) -> ServerDevice? { devices.first { $0.id == id } }
    public func option(_ id: String) -> ServerOption? { options.first { $0.id == id } }
    public func options(of device: String) -> [ServerOption] { options.filter { $0.device == device } }

    /// Adds or replaces a device with its options; returns what changed as events (none
    /// when only the device node changed, as when an image is attached again).
    public mutating func set(_ device: ServerDevice, options new: [ServerOption]) -> [(String, JSONValue)] {
        generation += 1
        if let i = devices.firstIndex(where: { $0.id == device.id }) {
            var old = devices[i]
            // Device nodes may move (an image on another loop device): not a change.
            old.node = device.node
            old.diskNode = device.diskNode
            if old == device, options(of: device.id).map(\.json) == new.map(\.json) {
                devices[i] = device
                return []
            }
        }
        var events = remove(device: device.id)
        devices.append(device)
        events.append(("device-added", device.json))
        for o in new {
            options.append(o)
            events.append(("option-added", o.json))
        }
        return events
    }

    /// Removes a device and its options.
    public mutating func remove(device id: String) -> [(String, JSONValue)] {
        guard devices.contains(where: { $0.id == id }) else { return [] }
        generation += 1
        var events: [(String, JSONValue)] = []
        for o in options where o.device == id {
            events.append(("option-removed", .object([("id", .string(o.id)), ("device", .string(id))])))
        }
        options.removeAll { $0.device == id }
        devices.removeAll { $0.id == id }
        events.append(("device-removed", .object([("id", .string(id))])))
        return events
    }

    /// Every device on `disk` (a whole disk or an image going away takes its partitions).
    public func devices(onDisk disk: String) -> [String] {
        devices.filter { $0.disk == disk }.map(\.id)
    }
}
