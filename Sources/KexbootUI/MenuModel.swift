import KexbootCore

/// What the main menu shows, built from the daemon's `list` and kept current by its
/// events. Pure: no terminal, no socket, so every rule here is unit-tested.
public struct MenuModel: Sendable {
    public struct Device: Sendable, Equatable {
        public var id: String
        public var type: String
        public var label: String?
        public var uuid: String?
        public var fstype: String?
        public var size: UInt64
        public var config: String?

        /// `vda1 · debian-boot · 512 MiB ext4 (disk)`: name, label or UUID, size, type.
        public var heading: String {
            var parts = [id]
            if let label, !label.isEmpty { parts.append(label) } else if let uuid { parts.append(uuid) }
            var kind = size > 0 ? MenuModel.size(size) : ""
            if let fstype { kind += kind.isEmpty ? fstype : " \(fstype)" }
            if !kind.isEmpty { parts.append(kind) }
            return parts.joined(separator: " · ") + " (\(type))"
        }
    }

    public struct Option: Sendable, Equatable {
        public var id: String
        public var device: String
        public var title: String
        public var isDefault: Bool
        public var kind: String
        public var kernel: String?
        public var initrds: [String]
        public var devicetree: String?
        public var args: String
    }

    public enum Row: Sendable, Equatable {
        case device(Device)
        case option(Option)
    }

    public var devices: [Device] = []
    public var options: [Option] = []
    public var defaultID: String?
    /// The option the cursor is on (kept across updates by id).
    public var selectedID: String?
    /// `counting` with seconds left, or nil when no countdown runs.
    public var countdown: (option: String, title: String, seconds: Int)?
    public var autobootState = "idle"
    public var status: (level: String, message: String)?
    public var progress: (file: String, bytes: UInt64, total: UInt64, rate: UInt64)?
    public var log: [String] = []

    public init() {}

    // MARK: reading the daemon

    /// Takes a `list` result.
    public mutating func update(list: JSONValue) {
        devices = (list["devices"]?.arrayValue ?? []).compactMap(MenuModel.device)
        options = (list["options"]?.arrayValue ?? []).compactMap(MenuModel.option)
        defaultID = list["default"]?.stringValue
        for i in options.indices { options[i].isDefault = options[i].id == defaultID }
        if let autoboot = list["autoboot"] { apply(autoboot: autoboot) }
        keepSelection()
    }

    static func device(_ d: JSONValue) -> Device? {
        guard let id = d["id"]?.stringValue else { return nil }
        let size: UInt64
        switch d["size"] {
        case .int(let i)?: size = UInt64(max(0, i))
        case .uint(let u)?: size = u
        default: size = 0
        }
        return Device(id: id, type: d["type"]?.stringValue ?? "disk", label: d["label"]?.stringValue, uuid: d["uuid"]?.stringValue,
                      fstype: d["fstype"]?.stringValue, size: size, config: d["config"]?.stringValue)
    }

    static func file(_ r: JSONValue?) -> String? {
        guard let r, case .object = r else { return nil }
        if let url = r["url"]?.stringValue { return url }
        guard let path = r["path"]?.stringValue else { return nil }
        if let device = r["device"]?.stringValue { return "(\(device))\(path)" }
        return path
    }

    static func option(_ o: JSONValue) -> Option? {
        guard let id = o["id"]?.stringValue, let device = o["device"]?.stringValue else { return nil }
        let path = (o["path"]?.arrayValue ?? []).compactMap(\.stringValue)
        return Option(id: id, device: device, title: path.isEmpty ? (o["title"]?.stringValue ?? id) : path.joined(separator: " > "),
                      isDefault: o["default"] == .bool(true), kind: o["kind"]?.stringValue ?? "linux",
                      kernel: file(o["kernel"]), initrds: (o["initrds"]?.arrayValue ?? []).compactMap { file($0) },
                      devicetree: file(o["devicetree"]), args: o["args"]?.stringValue ?? "")
    }

    mutating func apply(autoboot a: JSONValue) {
        autobootState = a["state"]?.stringValue ?? "idle"
        if autobootState == "counting" || autobootState == "settling", let option = a["option"]?.stringValue {
            countdown = (option, a["title"]?.stringValue ?? option, a["seconds"]?.intValue ?? 0)
        } else {
            countdown = nil
        }
    }

    /// Takes an event; returns true when the whole list should be fetched again (devices
    /// or options changed).
    public mutating func apply(event: JSONValue) -> Bool {
        let data = event["data"] ?? .null
        switch event["event"]?.stringValue {
        case "device-added", "device-removed", "option-added", "option-removed":
            return true
        case "autoboot":
            apply(autoboot: data)
            return false
        case "status":
            let level = data["level"]?.stringValue ?? "info"
            let message = data["message"]?.stringValue ?? ""
            if level == "progress" {
                progress = (data["file"]?.stringValue ?? "", UInt64(data["bytes"]?.intValue ?? 0),
                            UInt64(data["total"]?.intValue ?? 0), UInt64(data["rate"]?.intValue ?? 0))
            } else {
                status = (level, message)
                log.append("\(level): \(message)")
                if log.count > 500 { log.removeFirst(log.count - 500) }
            }
            return false
        case "boot-started":
            progress = nil
            status = ("info", "Booting \(data["title"]?.stringValue ?? "")…")
            return false
        case "boot-failed":
            progress = nil
            // The error first: on a narrow screen it is what must not be cut off.
            status = ("error", "Cannot boot: \(data["error"]?.stringValue ?? "?") (\(data["title"]?.stringValue ?? "?"))")
            return false
        default:
            return false
        }
    }

    // MARK: layout and movement

    /// Options grouped under their devices, devices in the order they appeared.
    public var rows: [Row] {
        var out: [Row] = []
        for d in devices {
            let mine = options.filter { $0.device == d.id }
            guard !mine.isEmpty else { continue }
            out.append(.device(d))
            out += mine.map(Row.option)
        }
        // Options whose device is not (yet) listed still show, under no heading.
        let known = Set(devices.map(\.id))
        out += options.filter { !known.contains($0.device) }.map(Row.option)
        return out
    }

    public var selected: Option? { options.first { $0.id == selectedID } }

    /// The selection stays on its option; if that went away, it moves to the default, or
    /// the first option.
    mutating func keepSelection() {
        if let id = selectedID, options.contains(where: { $0.id == id }) { return }
        selectedID = defaultID.flatMap { id in options.first { $0.id == id }?.id } ?? options.first?.id
    }

    var selectableIDs: [String] {
        rows.compactMap { if case .option(let o) = $0 { o.id } else { nil } }
    }

    public mutating func move(_ delta: Int) {
        let ids = selectableIDs
        guard !ids.isEmpty else { return }
        let current = selectedID.flatMap { ids.firstIndex(of: $0) } ?? 0
        selectedID = ids[min(max(current + delta, 0), ids.count - 1)]
    }

    public mutating func home() { selectedID = selectableIDs.first }
    public mutating func end() { selectedID = selectableIDs.last }

    // MARK: text

    public var countdownText: String? {
        guard let countdown else { return nil }
        if autobootState == "settling" { return "Booting \(countdown.title) when the other devices have had their chance; any key stops it." }
        return "Booting \(countdown.title) in \(countdown.seconds) s; any key stops it."
    }

    /// `vmlinuz [#####.....]  52%  3.1 MiB/s` fitted to `width` columns.
    public func progressText(width: Int) -> String? {
        guard let p = progress, p.total > 0 else { return nil }
        let percent = Int(min(100, p.bytes * 100 / p.total))
        let tail = " \(percent)%  \(MenuModel.size(p.rate))/s"
        let name = Path.basename(p.file)
        let barWidth = max(10, min(40, width - name.count - tail.count - 4))
        let filled = barWidth * percent / 100
        return "\(name) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]" + tail
    }

    static func size(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) \(units[unit])" : "\(rounded) \(units[unit])"
    }
}
