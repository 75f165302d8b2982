import KexbootCore

/// yaboot.conf (POWER): global settings, then `image=` sections. The command line is built
/// as yaboot builds it: `literal=` alone when present; otherwise `root=`, `ro`/`rw`,
/// `ramdisk=`, then the image's `append` (or the global one).
public enum YabootConfig {
    struct Settings {
        var root: String?
        var append: String?
        var initrd: String?
        var readOnly: Bool?
        var literal: String?
        var label: String?
        var ramdisk: String?
        var partition: String?
        var device: String?
        var alias: String?
    }

    public static func parse(path: String, files: any FileSource) throws -> ParseResult {
        let config = Path.normalize(path)
        let bytes = try files.read(config)
        var result = ParseResult(format: .yaboot, config: config)
        var diagnostics = DiagnosticSink()
        var global = Settings()
        var images: [(path: String, settings: Settings, location: SourceLocation)] = []
        var defaultName: String?
        lines: for item in KeyValueLine.Lines(bytes, file: config) {
            let line: KeyValueLine
            switch item {
            case .line(let l): line = l
            case .tooLong(let location):
                diagnostics.add(KeyValueLine.tooLong(at: location))
                continue
            }
            let key = line.key.lowercased()
            if key == "image" || key.hasPrefix("image[") {
                guard let value = line.value, !value.isEmpty else {
                    diagnostics.add(Diagnostic(.warning, "image= without a kernel", at: line.location))
                    continue
                }
                guard images.count < ConfigLimits.maxEntries else {
                    diagnostics.add(Diagnostic(.error, EntryBudget.message(full: true), at: line.location))
                    break lines
                }
                images.append((value, Settings(), line.location))
                continue
            }
            func set(_ body: (inout Settings) -> Void) {
                if images.isEmpty { body(&global) } else { body(&images[images.count - 1].settings) }
            }
            switch key {
            case "label": set { $0.label = line.value }
            case "alias": set { $0.alias = line.value }
            case "root": set { $0.root = line.value }
            case "append": set { $0.append = line.value }
            case "initrd": set { $0.initrd = line.value }
            case "literal": set { $0.literal = line.value }
            case "ramdisk": set { $0.ramdisk = line.value }
            case "partition": set { $0.partition = line.value }
            case "device": set { $0.device = line.value }
            case "read-only": set { $0.readOnly = true }
            case "read-write": set { $0.readOnly = false }
            case "default": defaultName = line.value
            case "timeout":
                // Tenths of a second, rounded up.
                if let t = line.value.flatMap({ Int($0) }) {
                    result.timeout = t <= 0 ? -1 : t / 10 + (t % 10 == 0 ? 0 : 1)
                } else {
                    diagnostics.add(Diagnostic(.warning, "timeout '\(line.value ?? "")' is not a number", at: line.location))
                }
            case "boot", "ofboot", "install", "magicboot", "delay", "enablecdboot", "enableofboot", "enablenetboot",
                 "init-message", "fgcolor", "bgcolor", "password", "restricted", "single-key", "nonvram", "defaultos",
                 "macos", "macosx", "darwin", "sysmap", "initrd-size", "initrd-prompt", "pause-after", "pause-message", "usemount", "mntpoint", "fstype", "hide", "brokenosx":
                continue
            default:
                diagnostics.add(Diagnostic(.info, "unknown yaboot.conf key '\(line.key)'", at: line.location))
            }
        }
        let directory = Path.directory(config)
        var kept = EntryBudget()
        for (kernel, s, location) in images {
            // A `device:partition,path` spelling names the file's partition itself.
            var path = kernel
            if let comma = path.lastIndex(of: ","), path[..<comma].contains(":") { path = String(path[path.index(after: comma)...]) }
            let partition = s.partition ?? global.partition
            if partition != nil || s.device != nil {
                diagnostics.add(Diagnostic(.info, "partition/device settings are not mapped: \(path) is read from this filesystem", at: location))
            }
            func resource(_ name: String) -> Resource {
                .file(device: nil, path: Path.join(directory == "/etc" ? "/" : directory, name))
            }
            var args: [String]
            if let literal = s.literal ?? (s.append == nil ? global.literal : nil) {
                args = literal.words
            } else {
                args = []
                if let root = s.root ?? global.root { args.append("root=\(root)") }
                if let ro = s.readOnly ?? global.readOnly { args.append(ro ? "ro" : "rw") }
                if let ramdisk = s.ramdisk ?? global.ramdisk { args.append("ramdisk=\(ramdisk)") }
                args += (s.append ?? global.append ?? "").words
            }
            let label = s.label ?? Path.basename(path)
            let option = BootOption(
                id: label, title: label, kernel: resource(path),
                initrds: (s.initrd ?? global.initrd).map { [resource($0)] } ?? [],
                args: args.joined(separator: " "))
            guard kept.admit(option) else {
                if let refusal = kept.refusal(at: location, file: config) { diagnostics.add(refusal) }
                break
            }
            result.entries.append(option)
        }
        result.diagnostics = diagnostics.items
        result.selectDefault(defaultName, what: "image") { name in images.firstIndex { $0.settings.alias == name } }
        result.finish()
        return result
    }
}
