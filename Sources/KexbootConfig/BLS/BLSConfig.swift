#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KexbootCore

/// BLS snippets read on their own (systemd-boot style, no grub.cfg): entries ordered as
/// GRUB's blscfg orders them, `default` and `timeout` from `loader.conf`, and `options`
/// expanded with the grubenv variables (`$kernelopts`) when a grubenv is present.
public enum BLSConfig {
    static let grubenvLocations = ["/grub2/grubenv", "/boot/grub2/grubenv", "/grub/grubenv", "/boot/grub/grubenv"]

    /// Parses every snippet in `directory` (`/loader/entries` or `/boot/loader/entries`),
    /// or only `single` when given.
    public static func parse(directory: String, single: String? = nil, files: any FileSource,
                             identity: DeviceIdentity = DeviceIdentity(), env: [(String, String)] = [],
                             platform: Platform = .current) -> ParseResult {
        var vars = GrubConfig.presets(configPath: Path.join(directory, "grub.cfg"), platform: platform)
        var exported = Set(vars.keys)
        for location in grubenvLocations {
            guard let bytes = try? files.read(location, limit: 1 << 20), let pairs = GrubEnvBlock.parse(bytes) else { continue }
            for (key, value) in pairs { vars[key] = value }
            break
        }
        for (key, value) in env {
            vars[key] = value
            exported.insert(key)
        }
        let interpreter = GrubInterpreter(files: files, identity: identity, presets: vars, exported: exported)
        var entries: [BLSEntry]
        if let single {
            var found: [Diagnostic] = []
            do {
                entries = [BLSEntry.parse(try files.read(single, limit: 1 << 20), path: single, diagnostics: &found)]
            } catch {
                found.append(Diagnostic(.error, "\(error)", file: single))
                entries = []
            }
            found.forEach { interpreter.diagnostics.add($0) }
        } else {
            entries = BLSEntry.loadDirectory(directory, files: files, diagnostics: &interpreter.diagnostics, input: &interpreter.input)
        }
        let bootPrefix = directory.hasPrefix("/boot/") ? "/boot" : ""
        let top = interpreter.context
        for entry in entries {
            let location = SourceLocation(file: entry.path, line: 1, column: 1)
            guard interpreter.roomForMenuItem(at: location) else { break }
            top.menu.append(GrubMenuItem(
                title: entry.title ?? entry.id, id: entry.id, extraArgs: [], isSubmenu: false, isHidden: false,
                body: .bls(entry, bootPrefix: bootPrefix),
                location: location, context: top))
        }
        var result = interpreter.finish(format: .bls, config: single ?? directory)
        applyLoaderConf(Path.join(directory, "../loader.conf"), files: files, to: &result)
        return result
    }

    /// systemd-boot's `loader.conf`: `default GLOB` (matched against entry ids, with or
    /// without `.conf`) and `timeout N` / `menu-force` / `menu-hidden`.
    static func applyLoaderConf(_ path: String, files: any FileSource, to result: inout ParseResult) {
        guard let bytes = try? files.read(path, limit: 1 << 20) else { return }
        var lineNumber = 0
        for raw in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(decoding: raw, as: UTF8.self).trimmingTrailingBlanks()
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let key = String(trimmed.prefix { $0 != " " && $0 != "\t" })
            let value = String(trimmed.dropFirst(key.count).drop { $0 == " " || $0 == "\t" })
            let location = SourceLocation(file: path, line: lineNumber, column: 1)
            switch key {
            case "default":
                if let i = result.entries.firstIndex(where: { fnmatch(value, $0.id, 0) == 0 || fnmatch(value, $0.id + ".conf", 0) == 0 }) {
                    result.defaultIndex = i
                } else if !result.entries.isEmpty {
                    result.diagnostics.append(Diagnostic(.warning, "default '\(value)' matches no entry; using the first entry", at: location))
                }
            case "timeout":
                switch value {
                case "menu-force": result.timeout = -1
                case "menu-hidden", "menu-disabled": result.timeout = 0
                default:
                    if let t = Int(value) {
                        result.timeout = max(t, 0)
                    } else {
                        result.diagnostics.append(Diagnostic(.warning, "timeout '\(value)' is not a number", at: location))
                    }
                }
            default:
                continue
            }
        }
    }
}
