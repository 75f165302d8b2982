/// What is known about the filesystem a config was read from, so that a GRUB `search` or
/// a `UUID=` reference that names it resolves to "this device".
public struct DeviceIdentity: Hashable, Sendable {
    public var uuid: String?
    public var label: String?
    public var partuuid: String?
    public var partlabel: String?

    public init(uuid: String? = nil, label: String? = nil, partuuid: String? = nil, partlabel: String? = nil) {
        self.uuid = uuid
        self.label = label
        self.partuuid = partuuid
        self.partlabel = partlabel
    }

    /// Whether a device reference of the form `kind:value` names this filesystem.
    /// UUIDs compare case-insensitively (GRUB and blkid print them in different cases).
    func matches(kind: String, value: String) -> Bool {
        switch kind {
        case "uuid": uuid.map { $0.lowercased() == value.lowercased() } ?? false
        case "partuuid": partuuid.map { $0.lowercased() == value.lowercased() } ?? false
        case "label": label == value
        case "partlabel": partlabel == value
        default: false
        }
    }

    /// Whether nothing of that kind is known, so a reference of that kind might still be us.
    func unknown(kind: String) -> Bool {
        switch kind {
        case "uuid": uuid == nil
        case "partuuid": partuuid == nil
        case "label": label == nil
        case "partlabel": partlabel == nil
        default: false
        }
    }
}
