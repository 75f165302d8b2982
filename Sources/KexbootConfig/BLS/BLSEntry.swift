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
        for rawLine in ByteLines(bytes) {
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

    /// Every `*.conf` snippet in `directory`, newest first (see `precedes`). Snippets are
    /// read in name order, up to `ConfigLimits.maxEntries` and the parse's `input` budget.
    static func loadDirectory(_ directory: String, files: any FileSource, diagnostics sink: inout DiagnosticSink,
                              input: inout InputBudget) -> [BLSEntry] {
        var entries: [BLSEntry] = []
        let names = (files.list(directory) ?? []).filter { $0.lowercased().hasSuffix(".conf") }.sorted()
        for name in names {
            let path = Path.join(directory, name)
            guard files.info(path)?.kind == .file else { continue }
            guard entries.count < ConfigLimits.maxEntries else {
                sink.add(Diagnostic(.error, "\(names.count) snippets: " + EntryBudget.message(full: true), file: directory))
                break
            }
            // Snippets are entries, not includes: `maxEntries` bounds how many are read.
            switch input.read(path, from: files, limit: 1 << 20, included: false) {
            case .success(let bytes):
                var found: [Diagnostic] = []
                let entry = parse(bytes, path: path, diagnostics: &found)
                found.forEach { sink.add($0) }
                entries.append(entry)
            case .failure(let refusal) where refusal.isLimit:
                sink.add(Diagnostic(.error, refusal.message, file: path))
                return entries.sorted(by: precedes)
            case .failure(let refusal):
                sink.add(Diagnostic(.warning, refusal.message, file: path))
            }
        }
        return entries.sorted(by: precedes)
    }

    /// GRUB's blscfg order: snippets with a `sort-key` first (ascending), then newest
    /// version first by RPM version comparison (6.10 before 6.9), then by file name,
    /// also newest first.
    ///
    /// Only the first `maxSortLength` bytes of each decide: real ones are a few dozen, and
    /// sorting thousands of snippets whose versions are megabytes long and alike would
    /// otherwise compare gigabytes.
    static func precedes(_ a: BLSEntry, _ b: BLSEntry) -> Bool {
        func cut(_ text: String) -> String {
            text.utf8.count <= maxSortLength ? text : String(decoding: text.utf8.prefix(maxSortLength), as: UTF8.self)
        }
        switch (a.sortKey.map(cut), b.sortKey.map(cut)) {
        case (let x?, let y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: break
        }
        let aID = cut(a.id), bID = cut(b.id)
        let c = VersionCompare.compare(a.version.map(cut) ?? aID, b.version.map(cut) ?? bID)
        if c != 0 { return c > 0 }
        let d = VersionCompare.compare(aID, bID)
        if d != 0 { return d > 0 }
        return a.id < b.id
    }

    static let maxSortLength = 256
}

extension String {
    func trimmingTrailingBlanks() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s.removeLast() }
        return String(s)
    }
}
