import KexbootCore

/// Counts the entries one parse keeps against `ConfigLimits.maxEntries` and
/// `maxEntryBytes`: what a config costs in memory grows with what is kept, and only up to
/// those.
struct EntryBudget {
    private(set) var count = 0
    private(set) var bytes = 0
    private var reported = false

    /// Whether `option` may be kept; it is then counted.
    mutating func admit(_ option: BootOption) -> Bool {
        let size = Self.size(of: option)
        guard count < ConfigLimits.maxEntries, size <= ConfigLimits.maxEntryBytes - bytes else { return false }
        count += 1
        bytes += size
        return true
    }

    /// The diagnostic for the first entry refused; `nil` for the ones after it.
    mutating func refusal(at location: SourceLocation?, file: String) -> Diagnostic? {
        guard !reported else { return nil }
        reported = true
        return Diagnostic(.error, Self.message(full: count >= ConfigLimits.maxEntries), at: location, file: file)
    }

    /// What the diagnostic says when the entries defined reach `maxEntries` (`full`), or
    /// their bytes `maxEntryBytes`.
    static func message(full: Bool) -> String {
        full ? "more than \(ConfigLimits.maxEntries) entries; the rest of the config's entries are left out"
             : "the entries take more than \(ConfigLimits.describe(bytes: ConfigLimits.maxEntryBytes)) in all; the rest of the config's entries are left out"
    }

    /// About what an entry keeps in memory: its text, and a little for the structure.
    static func size(of option: BootOption) -> Int {
        func size(_ resource: Resource?) -> Int {
            switch resource {
            case .file(let device, let path)?: (device?.utf8.count ?? 0) + path.utf8.count + 16
            case .url(let url)?: url.utf8.count + 16
            case nil: 0
            }
        }
        var total = 256 + option.id.utf8.count + option.title.utf8.count + option.args.utf8.count
        total += option.path.reduce(0) { $0 + $1.utf8.count + 16 }
        total += size(option.kernel) + size(option.devicetree)
        total += option.initrds.reduce(0) { $0 + size($1) }
        total += option.modules.reduce(0) { $0 + size($1.resource) + $1.args.utf8.count }
        total += option.checksums.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        total += option.loopbacks.reduce(0) { $0 + $1.key.utf8.count + size($1.value) }
        return total
    }
}
