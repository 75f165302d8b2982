import KexbootCore

/// Reads a grub.cfg (and everything it sources) into boot options.
public enum GrubConfig {
    /// The variables GRUB 2.12 sets before it reads a config, for the machine kexboot
    /// runs on (overridden by `env`).
    public static func presets(configPath: String, platform: Platform = .current) -> [String: String] {
        let directory = Path.directory(configPath)
        var vars: [String: String] = [
            "grub_cpu": platform.grubCPU,
            "grub_platform": platform.grubPlatform,
            "prefix": directory,
            "config_directory": directory,
            "config_file": configPath,
            "cmdpath": directory,
            "pager": "",
            "lang": "",
            "locale_dir": "",
            "secondary_locale_dir": "",
        ]
        for feature in ["feature_menuentry_id", "feature_default_font_path", "feature_all_video_module",
                        "feature_timeout_style", "feature_platform_search_hint", "feature_nativedisk_cmd",
                        "feature_chainloader_bpb", "feature_ntldr"] {
            vars[feature] = "y"
        }
        return vars
    }

    /// Parses the config at `path` on `files`.
    ///
    /// - Parameters:
    ///   - identity: what is known of the filesystem `files` stands for.
    ///   - env: `--env` variables; they are set after GRUB's presets and exported.
    public static func parse(path: String, files: any FileSource, identity: DeviceIdentity = DeviceIdentity(),
                             env: [(String, String)] = [], platform: Platform = .current) throws -> ParseResult {
        let config = Path.normalize(path)
        let bytes = try files.read(config)
        var vars = presets(configPath: config, platform: platform)
        var exported: Set<String> = ["root", "prefix", "grub_cpu", "grub_platform", "lang", "locale_dir", "pager", "secondary_locale_dir"]
        for (key, value) in env {
            vars[key] = value
            exported.insert(key)
        }
        let interpreter = GrubInterpreter(files: files, identity: identity, presets: vars, exported: exported)
        interpreter.run(SourceRange(file: SourceFile(path: config, bytes: bytes)))
        return interpreter.finish(format: .grub, config: config)
    }
}

extension GrubInterpreter {
    /// Runs every entry and submenu of the top-level menu, then picks the default.
    func finish(format: ConfigFormat, config: String) -> ParseResult {
        // Running the entries is the second phase: a fresh allowance (ConfigLimits).
        stepsLeft = ConfigLimits.maxSteps
        expansionLeft = ConfigLimits.maxExpansionBytes
        input.renewBytes()
        exhausted = false
        let top = context
        var entries: [BootOption] = []
        var positions: [Int] = []
        let items = resolveMenu(top, path: [], into: &entries, positions: &positions)
        var defaultContext = top
        var defaultItems = items[...]
        if let replacement = top.replacement {
            defaultContext = replacement.context
            // The menu index where the replacing file's items begin, in resolved items
            // (an entry whose body does not parse is no item).
            defaultItems = items[positions[min(replacement.firstItem, positions.count - 1)]...]
        }
        var result = ParseResult(format: format, config: config, entries: entries)
        let spec = defaultContext["default"] ?? ""
        if !spec.isEmpty && !entries.isEmpty {
            switch matchDefault(ArraySlice(Self.defaultPath(spec)), in: Array(defaultItems)) {
            case .entry(let i):
                result.defaultIndex = i
            case .unbootable:
                diagnostics.add(Diagnostic(.warning, "default '\(spec)' names an entry kexec cannot boot; using the first entry", at: assignedAt["default"], file: config))
            case .none:
                diagnostics.add(Diagnostic(.warning, "default '\(spec)' names no menu entry; using the first entry", at: assignedAt["default"], file: config))
            }
        }
        if let timeout = defaultContext["timeout"], !timeout.isEmpty {
            if let t = Int(timeout.trimmingTrailingBlanks()) {
                result.timeout = t < 0 ? -1 : t
            } else {
                diagnostics.add(Diagnostic(.warning, "timeout '\(timeout)' is not a number", at: assignedAt["timeout"], file: config))
            }
        }
        if let style = defaultContext["timeout_style"], !style.isEmpty { result.timeoutStyle = style }
        result.diagnostics = diagnostics.items
        result.finish()
        return result
    }
}
