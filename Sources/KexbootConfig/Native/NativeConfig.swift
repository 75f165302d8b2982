import KexbootCore

/// kexboot's own menu format (`kexboot.conf`, documented in docs/kexboot-conf.md): one
/// keyword per line, `entry ID` starts an entry, `sha256 PATH HEX` pins a file's digest.
public enum NativeConfig {
    public static func parse(path: String, files: any FileSource) throws -> ParseResult {
        let config = Path.normalize(path)
        let bytes = try files.read(config)
        let directory = Path.directory(config)
        var result = ParseResult(format: .native, config: config)
        var diagnostics = DiagnosticSink()
        var kept = EntryBudget()
        // Set once an entry was refused (ConfigLimits): nothing more is read.
        var full = false
        var defaultID: String?
        var current: BootOption?
        var currentLocation: SourceLocation?
        var argLines: [String] = []
        func finishEntry() {
            guard var option = current else { return }
            if argLines.reduce(0, { $0 + $1.utf8.count + 1 }) > ConfigLimits.maxCommandLength {
                diagnostics.add(Diagnostic(.warning, "entry '\(option.id)': its command line is longer than \(ConfigLimits.describe(bytes: ConfigLimits.maxCommandLength)); left out", at: currentLocation))
            } else if option.kernel == nil {
                diagnostics.add(Diagnostic(.warning, "entry '\(option.id)' has no kernel or client; left out", at: currentLocation))
            } else if option.kind == .elf, !option.initrds.isEmpty || option.devicetree != nil {
                diagnostics.add(Diagnostic(.warning, "entry '\(option.id)': a client takes no initrd or devicetree; left out", at: currentLocation))
            } else {
                option.args = argLines.joined(separator: " ").words.joined(separator: " ")
                for path in option.checksums.keys where ![option.kernel?.checksumKey, option.devicetree?.checksumKey].contains(path)
                    && !option.initrds.contains(where: { $0.checksumKey == path }) {
                    diagnostics.add(Diagnostic(.warning, "entry '\(option.id)': sha256 for \(path), which the entry does not load", at: currentLocation))
                }
                if kept.admit(option) {
                    result.entries.append(option)
                } else {
                    if let refusal = kept.refusal(at: currentLocation, file: config) { diagnostics.add(refusal) }
                    full = true
                }
            }
            current = nil
            argLines = []
        }
        var number = 0
        for raw in ByteLines(bytes) {
            number += 1
            if full { break }
            guard raw.count <= ConfigLimits.maxValueLength else {
                diagnostics.add(Diagnostic(.error, "a line longer than \(ConfigLimits.describe(bytes: ConfigLimits.maxValueLength)); ignored",
                                           at: SourceLocation(file: config, line: number, column: 1)))
                continue
            }
            var text = String(decoding: raw, as: UTF8.self)
            if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
            let words = text.words
            guard let keyword = words.first?.lowercased() else { continue }
            let rest = text.drop { $0 == " " || $0 == "\t" }.dropFirst(words[0].count).drop { $0 == " " || $0 == "\t" }
            let value = String(rest).trimmingTrailingBlanks()
            let here = SourceLocation(file: config, line: number, column: 1)
            func needEntry() -> Bool {
                if current == nil { diagnostics.add(Diagnostic(.warning, "'\(keyword)' outside an entry", at: here)) }
                return current != nil
            }
            func file(_ name: String) -> Resource {
                URLText.scheme(of: name) != nil ? .url(name) : .file(device: nil, path: Path.join(directory, name))
            }
            switch keyword {
            case "default": defaultID = value
            case "timeout":
                if let t = Int(value) { result.timeout = t < 0 ? -1 : t }
                else { diagnostics.add(Diagnostic(.warning, "timeout '\(value)' is not a number", at: here)) }
            case "entry":
                finishEntry()
                guard !value.isEmpty else {
                    diagnostics.add(Diagnostic(.warning, "entry without an id", at: here))
                    continue
                }
                current = BootOption(id: value, title: value)
                currentLocation = here
            case "title": if needEntry() { current!.title = value; current!.path = [value] }
            case "kernel", "client":
                guard needEntry() else { continue }
                if current!.kernel != nil {
                    diagnostics.add(Diagnostic(.warning, "entry '\(current!.id)' names a second kernel or client; the first is kept", at: here))
                    continue
                }
                current!.kernel = file(value)
                // An Open Firmware client (GRUB's core.elf, a FreeBSD loader), started on
                // POWER through the shim.
                if keyword == "client" { current!.kind = .elf }
            case "initrd": if needEntry() { current!.initrds.append(file(value)) }
            case "devicetree", "dtb": if needEntry() { current!.devicetree = file(value) }
            case "args", "append": if needEntry() { argLines.append(value) }
            case "sha256":
                guard needEntry() else { continue }
                guard words.count == 3, words[2].count == 64, words[2].allSatisfy(\.isHexDigit) else {
                    diagnostics.add(Diagnostic(.warning, "sha256 takes a path and 64 hex digits", at: here))
                    continue
                }
                current!.checksums[file(words[1]).checksumKey] = words[2].lowercased()
            default:
                diagnostics.add(Diagnostic(.warning, "unknown keyword '\(keyword)'", at: here))
            }
        }
        finishEntry()
        result.diagnostics = diagnostics.items
        result.selectDefault(defaultID)
        result.finish()
        return result
    }
}
