import KexbootCore

/// One Boot Loader Specification snippet (`/loader/entries/NAME.conf`).
public struct BLSEntry: Sendable {
    /// The file name without `.conf`: GRUB's `--id` for the entry, what `default` names.
    public var id: String
    /// The snippet's path within the filesystem.
    public var path: String
    public var title: String?
    public var version: String?
    public var machineID: String?
    public var sortKey: String?
    public var linux: String?
    public var efi: String?
    /// Each `initrd` line as written; a line may name several files, and GRUB's blscfg
    /// expands variables in it (`$tuned_initrd`).
    public var initrdLines: [String] = []

    /// Every initrd, in order, before variable expansion.
    public var initrds: [String] {
        initrdLines.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
    }
    /// Each `options` line; they are joined with a space.
    public var options: [String] = []
    public var devicetree: String?
    public var architecture: String?

    public init(id: String, path: String) {
        self.id = id
        self.path = path
    }

    /// Parses a snippet. Unknown keys are allowed by the specification and ignored.
    public static func parse(_ bytes: [UInt8], path: String, diagnostics: inout [Diagnostic]) -> BLSEntry {
        var name = Path.basename(path)
        if name.lowercased().hasSuffix(".conf") { name.removeLast(5) }
        var entry = BLSEntry(id: name, path: path)
        var lineNumber = 0
        for rawLine in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(decoding: rawLine, as: UTF8.self)
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let key = String(trimmed.prefix { $0 != " " && $0 != "\t" })
            let value = String(trimmed.dropFirst(key.count).drop { $0 == " " || $0 == "\t" })
                .trimmingTrailingBlanks()
            if value.isEmpty {
                diagnostics.append(Diagnostic(.warning, "'\(key)' without a value", at: SourceLocation(file: path, line: lineNumber, column: 1)))
                continue
            }
            switch key {
            case "title": entry.title = value
            case "version": entry.version = value
            case "machine-id": entry.machineID = value
            case "sort-key": entry.sortKey = value
            case "linux": entry.linux = value
            case "efi": entry.efi = value
            case "initrd": entry.initrdLines.append(value)
            case "options": entry.options.append(value)
            case "devicetree": entry.devicetree = value
            case "architecture": entry.architecture = value
            default: break
            }
        }
        return entry
    }

    /// Every `*.conf` snippet in `directory`, newest first (see `precedes`).
    static func loadDirectory(_ directory: String, files: any FileSource, diagnostics sink: inout DiagnosticSink) -> [BLSEntry] {
        var entries: [BLSEntry] = []
        for name in files.list(directory) ?? [] where name.lowercased().hasSuffix(".conf") {
            let path = Path.join(directory, name)
            guard files.info(path)?.kind == .file else { continue }
            do {
                var found: [Diagnostic] = []
                let entry = parse(try files.read(path, limit: 1 << 20), path: path, diagnostics: &found)
                found.forEach { sink.add($0) }
                entries.append(entry)
            } catch {
                sink.add(Diagnostic(.warning, "\(error)", file: path))
            }
        }
        return entries.sorted(by: precedes)
    }

    /// GRUB's blscfg order: snippets with a `sort-key` first (ascending), then newest
    /// version first by RPM version comparison (6.10 before 6.9), then by file name,
    /// also newest first.
    static func precedes(_ a: BLSEntry, _ b: BLSEntry) -> Bool {
        switch (a.sortKey, b.sortKey) {
        case (let x?, let y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: break
        }
        let c = VersionCompare.compare(a.version ?? a.id, b.version ?? b.id)
        if c != 0 { return c > 0 }
        let d = VersionCompare.compare(a.id, b.id)
        if d != 0 { return d > 0 }
        return a.id < b.id
    }
}

extension String {
    func trimmingTrailingBlanks() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s.removeLast() }
        return String(s)
    }
}
