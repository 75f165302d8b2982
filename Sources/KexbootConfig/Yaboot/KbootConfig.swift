import KexbootCore

/// kboot.conf: `label='kernel args'` lines, `default=`, `timeout=` (seconds). `root=`,
/// `initrd=` and `dtb=` are taken out of the arguments (root= goes back first, as kboot
/// passed it).
public enum KbootConfig {
    public static func parse(path: String, files: any FileSource) throws -> ParseResult {
        let config = Path.normalize(path)
        let bytes = try files.read(config)
        var result = ParseResult(format: .kboot, config: config)
        var diagnostics = DiagnosticSink()
        var kept = EntryBudget()
        var defaultName: String?
        let directory = Path.directory(config)
        func resource(_ name: String) -> Resource {
            .file(device: nil, path: Path.join(directory == "/etc" ? "/" : directory, name))
        }
        lines: for item in KeyValueLine.Lines(bytes, file: config) {
            let line: KeyValueLine
            switch item {
            case .line(let l): line = l
            case .tooLong(let location):
                diagnostics.add(KeyValueLine.tooLong(at: location))
                continue
            }
            switch line.key {
            case "default": defaultName = line.value
            case "timeout":
                if let t = line.value.flatMap({ Int($0) }) {
                    result.timeout = t < 0 ? -1 : t
                } else {
                    diagnostics.add(Diagnostic(.warning, "timeout '\(line.value ?? "")' is not a number", at: line.location))
                }
            case "message", "delay", "video":
                continue
            default:
                guard let value = line.value, let kernel = value.words.first else {
                    diagnostics.add(Diagnostic(.warning, "'\(line.key)' has no kernel", at: line.location))
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
                let option = BootOption(id: line.key, title: line.key, kernel: resource(kernel), initrds: initrds,
                                        devicetree: dtb, args: args.joined(separator: " "))
                guard kept.admit(option) else {
                    if let refusal = kept.refusal(at: line.location, file: config) { diagnostics.add(refusal) }
                    break lines
                }
                result.entries.append(option)
            }
        }
        result.diagnostics = diagnostics.items
        result.selectDefault(defaultName)
        result.finish()
        return result
    }
}
