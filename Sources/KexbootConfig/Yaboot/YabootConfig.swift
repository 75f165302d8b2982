import KexbootCore

/// yaboot.conf (POWER): global settings, then `image=` sections. The command line is built
/// as yaboot builds it: `literal=` alone when present; otherwise `root=`, `ro`/`rw`,
/// `ramdisk=`, then the image's `append` (or the global one). File names are
/// `[device:][partition,]path` (`FileName`); `device=` and `partition=` (global, or the
/// image's own) fill in the parts a name leaves out.
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

    /// A file name as yaboot writes it: `[device:][partition,]path`. `device` is an Open
    /// Firmware path or alias (`hd`, `external`, `/pci@…/scsi@…/sd@…`, whose unit addresses
    /// may hold commas). It ends at the first `:` followed by `N,` or `,` (an empty partition,
    /// `hd:,/vmlinux`), else at the last `:` followed by `/` (`external:/vmlinux`); a `:`
    /// anywhere else belongs to the path. With no device, `N,path` still names partition N.
    struct FileName: Equatable {
        var device: String?
        var partition: String?
        var path: String

        init(device: String?, partition: String?, path: String) {
            self.device = device
            self.partition = partition
            self.path = path
        }

        init(_ text: String) {
            var rest = Substring(text)
            func partitionPrefix(_ s: Substring) -> (number: Substring, comma: Substring.Index)? {
                guard let comma = s.firstIndex(of: ","), s[..<comma].allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
                return (s[..<comma], comma)
            }
            let colons = rest.indices.filter { rest[$0] == ":" && $0 != rest.startIndex }
            if let colon = colons.first(where: { partitionPrefix(rest[rest.index(after: $0)...]) != nil })
                ?? colons.last(where: { rest[rest.index(after: $0)...].hasPrefix("/") }) {
                device = String(rest[..<colon])
                rest = rest[rest.index(after: colon)...]
            }
            if let (number, comma) = partitionPrefix(rest) {
                if !number.isEmpty { partition = String(number) }
                rest = rest[rest.index(after: comma)...]
            }
            path = String(rest)
        }

        /// The resource: `partition:N` for a partition of the config's disk, `of:SPEC[:N]`
        /// for a disk named by Open Firmware, the config's own filesystem otherwise (where a
        /// relative name is relative to `directory`).
        func resource(relativeTo directory: String) -> Resource {
            if let device {
                return .file(device: "of:" + device + (partition.map { ":" + $0 } ?? ""), path: Path.join("/", path))
            }
            if let partition { return .file(device: "partition:" + partition, path: Path.join("/", path)) }
            return .file(device: nil, path: Path.join(directory, path))
        }
    }

    /// `N` ≥ 1 in decimal.
    static func isPartitionNumber(_ text: String) -> Bool {
        !text.isEmpty && text.count < 10 && text.allSatisfy({ $0 >= "0" && $0 <= "9" }) && Int(text).map { $0 >= 1 } == true
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
            case "partition": set { $0.partition = line.value.flatMap { $0.isEmpty ? nil : $0 } }
            case "device":
                // `device=hd:` names the disk; the colon belongs to no partition.
                set { $0.device = line.value.map { $0.hasSuffix(":") ? String($0.dropLast()) : $0 }.flatMap { $0.isEmpty ? nil : $0 } }
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
            // The image's own `device=`/`partition=`, else the global ones: the defaults for
            // the parts a file name does not give itself.
            var defaults = FileName(device: s.device ?? global.device, partition: s.partition ?? global.partition, path: "")
            if let partition = defaults.partition, !Self.isPartitionNumber(partition) {
                diagnostics.add(Diagnostic(.warning, "partition '\(partition)' is no partition number; ignored", at: location))
                defaults.partition = nil
            }
            func resource(_ text: String) -> Resource {
                var name = FileName(text)
                if name.device == nil { name.device = defaults.device }
                if name.partition == nil { name.partition = defaults.partition }
                return name.resource(relativeTo: directory == "/etc" ? "/" : directory)
            }
            let path = FileName(kernel).path
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
                id: label, title: label, kernel: resource(kernel),
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
