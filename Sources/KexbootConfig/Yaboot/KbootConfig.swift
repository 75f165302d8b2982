import KexbootCore

/// kboot.conf: every line is `name=value`, the value optionally quoted. A name whose value
/// is a kernel followed by its arguments is an entry (`linux='/boot/vmlinux root=/dev/sda2
/// ro'`). The other names are global settings, never entries:
///
/// - `default=` names the entry autoboot picks;
/// - `timeout=`, `delay=` and `message=` are not used (petitboot ignores them too, and no
///   documentation of kboot's units is at hand): `timeout` stays `null`;
/// - `root=`, `initrd=`, `dtb=` and `video=` apply to every entry that does not give its own
///   (the file is a set of assignments, as a shell reads it: where in the file the global
///   stands does not matter, and the last assignment wins).
///
/// An entry's own `root=` goes to the front of its arguments (kboot passes it first) and its
/// own `initrd=`/`dtb=` become its resources and leave the arguments; a global `root=X`
/// reaches the kernel as `root=X`, a global `video=X` as `video=X` after it.
public enum KbootConfig {
    /// The names that are settings of the whole file, never entries.
    static let globalNames: Set<String> = ["default", "timeout", "delay", "message", "root", "initrd", "dtb", "video"]

    public static func parse(path: String, files: any FileSource) throws -> ParseResult {
        let config = Path.normalize(path)
        let bytes = try files.read(config)
        var result = ParseResult(format: .kboot, config: config)
        var diagnostics = DiagnosticSink()
        var globals: [String: String] = [:]
        var lines: [KeyValueLine] = []
        let directory = Path.directory(config)
        func resource(_ name: String) -> Resource {
            .file(device: nil, path: Path.join(directory == "/etc" ? "/" : directory, name))
        }
        reading: for item in KeyValueLine.Lines(bytes, file: config) {
            let line: KeyValueLine
            switch item {
            case .line(let l): line = l
            case .tooLong(let location):
                diagnostics.add(KeyValueLine.tooLong(at: location))
                continue
            }
            if Self.globalNames.contains(line.key) {
                globals[line.key] = line.value ?? ""
                if line.key == "timeout" {
                    diagnostics.add(Diagnostic(.info, "timeout= is not used (kboot's unit is not known; petitboot ignores it too)", at: line.location))
                }
                continue
            }
            guard lines.count < ConfigLimits.maxEntries else {
                diagnostics.add(Diagnostic(.error, EntryBudget.message(full: true), at: line.location))
                break reading
            }
            lines.append(line)
        }
        // Globals given with an empty value (`initrd=`) set nothing.
        func global(_ name: String) -> String? { globals[name].flatMap { $0.words.isEmpty ? nil : $0.words.joined(separator: " ") } }
        var kept = EntryBudget()
        for line in lines {
            guard let value = line.value, let kernel = value.words.first else {
                diagnostics.add(Diagnostic(.warning, "'\(line.key)' has no kernel", at: line.location))
                continue
            }
            var root: String?, initrds: [Resource] = [], dtb: Resource?, args: [String] = [], hasVideo = false
            for word in value.words.dropFirst() {
                if word.hasPrefix("root=") { root = String(word.dropFirst(5)) }
                else if word.hasPrefix("initrd=") { initrds.append(resource(String(word.dropFirst(7)))) }
                else if word.hasPrefix("dtb=") { dtb = resource(String(word.dropFirst(4))) }
                else {
                    if word.hasPrefix("video=") { hasVideo = true }
                    args.append(word)
                }
            }
            var front: [String] = []
            if let root = root ?? global("root") { front.append("root=\(root)") }
            if !hasVideo, let video = global("video") { front.append("video=\(video)") }
            if initrds.isEmpty, let initrd = global("initrd") { initrds = [resource(initrd)] }
            if dtb == nil, let name = global("dtb") { dtb = resource(name) }
            let option = BootOption(id: line.key, title: line.key, kernel: resource(kernel), initrds: initrds,
                                    devicetree: dtb, args: (front + args).joined(separator: " "))
            guard kept.admit(option) else {
                if let refusal = kept.refusal(at: line.location, file: config) { diagnostics.add(refusal) }
                break
            }
            result.entries.append(option)
        }
        result.diagnostics = diagnostics.items
        result.selectDefault(global("default"))
        result.finish()
        return result
    }
}
