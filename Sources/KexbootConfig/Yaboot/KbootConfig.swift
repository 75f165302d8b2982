import KexbootCore

/// kboot.conf: `label='kernel args'` lines, `default=`, `timeout=` (seconds). `root=`,
/// `initrd=` and `dtb=` are taken out of the arguments (root= goes back first, as kboot
/// passed it).
public enum KbootConfig {
    public static func parse(path: String, files: any FileSource) throws -> ParseResult {
        let config = Path.normalize(path)
        let bytes = try files.read(config)
        var result = ParseResult(format: .kboot, config: config)
        var defaultName: String?
        let directory = Path.directory(config)
        func resource(_ name: String) -> Resource {
            .file(device: nil, path: Path.join(directory == "/etc" ? "/" : directory, name))
        }
        for line in KeyValueLine.parse(bytes, file: config) {
            switch line.key {
            case "default": defaultName = line.value
            case "timeout":
                if let t = line.value.flatMap({ Int($0) }) {
                    result.timeout = t < 0 ? -1 : t
                } else {
                    result.diagnostics.append(Diagnostic(.warning, "timeout '\(line.value ?? "")' is not a number", at: line.location))
                }
            case "message", "delay", "video":
                continue
            default:
                guard let value = line.value, let kernel = value.words.first else {
                    result.diagnostics.append(Diagnostic(.warning, "'\(line.key)' has no kernel", at: line.location))
                    continue
                }
                var root: String?, initrds: [Resource] = [], dtb: Resource?, args: [String] = []
                for word in value.words.dropFirst() {
                    if word.hasPrefix("root=") { root = String(word.dropFirst(5)) }
                    else if word.hasPrefix("initrd=") { initrds.append(resource(String(word.dropFirst(7)))) }
                    else if word.hasPrefix("dtb=") { dtb = resource(String(word.dropFirst(4))) }
                    else { args.append(word) }
                }
                if let root { args.insert("root=\(root)", at: 0) }
                result.entries.append(BootOption(id: line.key, title: line.key, kernel: resource(kernel), initrds: initrds,
                                                 devicetree: dtb, args: args.joined(separator: " ")))
            }
        }
        result.selectDefault(defaultName)
        result.finish()
        return result
    }
}
