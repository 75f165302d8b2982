extension Resource {
    /// `{"device": D, "path": P}` or `{"url": U}` (parse-json.md).
    public var json: JSONValue {
        switch self {
        case .file(let device, let path):
            .object([("device", .optional(device)), ("path", .string(path))])
        case .url(let url):
            .object([("url", .string(url))])
        }
    }
}

extension BootModule {
    public var json: JSONValue {
        guard case .object(var members) = resource.json else { return resource.json }
        members.append(("args", .string(args)))
        return .object(members)
    }
}

extension BootOption {
    /// The boot-option object of parse-json.md, fields in the order the spec lists them.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)),
            ("title", .string(title)),
            ("path", .array(path.map(JSONValue.string))),
            ("kind", .string(kind.rawValue)),
            ("kernel", kernel?.json ?? .null),
            ("initrds", .array(initrds.map(\.json))),
            ("devicetree", devicetree?.json ?? .null),
            ("modules", .array(modules.map(\.json))),
            ("args", .string(args)),
        ]
        if !checksums.isEmpty {
            members.append(("sha256", .object(checksums.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        if !loopbacks.isEmpty {
            members.append(("loopbacks", .object(loopbacks.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })))
        }
        return .object(members)
    }
}

extension Diagnostic {
    /// `{"file", "line", "column", "severity", "message"}`; location fields are `null` when
    /// the problem has no line.
    public var json: JSONValue {
        .object([
            ("file", .optional(location?.file ?? file)),
            ("line", .optional(location?.line)),
            ("column", .optional(location?.column)),
            ("severity", .string(severity.rawValue)),
            ("message", .string(message)),
        ])
    }
}
