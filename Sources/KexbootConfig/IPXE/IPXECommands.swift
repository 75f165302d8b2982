import KexbootCore

/// The iPXE commands (https://ipxe.org/cmd) as the static evaluator models them.
extension IPXEInterpreter {
    /// An option a command takes: `--long`, `-s`, with or without a value.
    struct OptionSpec {
        let long: String
        let short: Character
        let takesValue: Bool

        init(_ long: String, _ short: Character, value: Bool = false) {
            self.long = long
            self.short = short
            self.takesValue = value
        }
    }

    /// Options as iPXE parses them: before the first word that is not one (or `--`);
    /// `--name value`, `--name=value`, `-n value`, `-nvalue`, `-ak`.
    struct Options {
        var values: [String: String] = [:]
        var flags: Set<String> = []
        var rest: [String] = []
        var error: String?

        subscript(_ name: String) -> String? { values[name] }
        func has(_ flag: String) -> Bool { flags.contains(flag) }
    }

    static func options(_ argv: ArraySlice<String>, _ specs: [OptionSpec]) -> Options {
        var result = Options()
        var i = argv.startIndex
        scan: while i < argv.endIndex {
            let word = argv[i]
            if word == "--" {
                i += 1
                break
            }
            if word.hasPrefix("--") {
                var name = String(word.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                guard let spec = specs.first(where: { $0.long == name }) else {
                    result.error = "unknown option '\(word)'"
                    i += 1
                    continue
                }
                if spec.takesValue {
                    if let inline {
                        result.values[name] = inline
                    } else if i + 1 < argv.endIndex {
                        result.values[name] = argv[i + 1]
                        i += 1
                    } else {
                        result.error = "option '\(word)' needs a value"
                    }
                } else {
                    result.flags.insert(name)
                }
                i += 1
                continue
            }
            if word.hasPrefix("-") && word.count > 1 {
                let letters = Array(word.dropFirst())
                var j = 0
                while j < letters.count {
                    guard let spec = specs.first(where: { $0.short == letters[j] }) else {
                        result.error = "unknown option '-\(letters[j])'"
                        break
                    }
                    if spec.takesValue {
                        let remainder = String(letters[(j + 1)...])
                        if !remainder.isEmpty {
                            result.values[spec.long] = remainder
                        } else if i + 1 < argv.endIndex {
                            result.values[spec.long] = argv[i + 1]
                            i += 1
                        } else {
                            result.error = "option '-\(letters[j])' needs a value"
                        }
                        break
                    }
                    result.flags.insert(spec.long)
                    j += 1
                }
                i += 1
                continue scan
            }
            break
        }
        result.rest = Array(argv[i...])
        return result
    }

    static let imageOptions = [OptionSpec("name", "n", value: true), OptionSpec("timeout", "t", value: true),
                               OptionSpec("autofree", "a"), OptionSpec("replace", "r")]

    /// Commands that only show things, configure the network or the console, or ask the
    /// user: nothing a boot option depends on. They succeed.
    static let quietCommands: Set<String> = [
        "echo", "sleep", "dhcp", "ifconf", "ifopen", "ifclose", "ifstat", "iflinkwait", "route", "nstat", "ipstat",
        "imgstat", "show", "help", "config", "login", "read", "nslookup", "ntp", "time", "ping", "colour", "cpair",
        "console", "sync", "vcreate", "vdestroy", "params", "param", "imgtrust", "imgverify", "imgextract",
        "imgdecrypt", "certstat", "certstore", "certfree", "sanhook", "sanunhook", "pciscan", "lotest", "fcstat",
        "fcels", "ibstat", "profstat", "gdbstub", "md5sum", "sha1sum", "sha256sum", "sha512sum", "shim", "present",
        "ucode",
    ]

    /// What ends a path without booting anything kexec can load.
    static let dead: [String: String] = [
        "shell": "it opens the iPXE shell",
        "reboot": "it reboots",
        "poweroff": "it powers off",
        "sanboot": "it boots a disk (sanboot), not a Linux kernel",
        "autoboot": "autoboot boots whatever DHCP names, which is not known here",
        "pxebs": "it boots from a PXE boot server, which is not known here",
    ]

    func execute(_ argv: [String], at here: SourceLocation, _ state: inout State) -> Outcome {
        let name = argv[0]
        let args = argv[1...]
        func warn(_ message: String) -> Outcome {
            diagnostics.add(Diagnostic(.warning, "\(name): \(message)", at: here, file: config))
            return .status(false)
        }
        if Self.quietCommands.contains(name) { return .status(true) }
        if let reason = Self.dead[name] { return .stop(.leftOut(reason)) }
        switch name {
        case "set":
            guard let setting = args.first, !setting.isEmpty else { return warn("needs a setting name") }
            let value = args.dropFirst().joined(separator: " ")
            guard value.utf8.count <= ConfigLimits.maxValueLength else {
                return warn("a value of \(value.utf8.count) bytes is longer than \(ConfigLimits.describe(bytes: ConfigLimits.maxValueLength)); not set")
            }
            state.settings.set(setting, value)
            return .status(true)
        case "clear":
            guard let setting = args.first, !setting.isEmpty else { return warn("needs a setting name") }
            state.settings.set(setting, nil)
            return .status(true)
        case "inc":
            guard let setting = args.first, !setting.isEmpty else { return warn("needs a setting name") }
            let current = state.settings.value(setting).flatMap { Int($0) } ?? 0
            let amount = args.dropFirst().first.flatMap { Int($0) } ?? 1
            state.settings.set(setting, String(current &+ amount))
            return .status(true)
        case "isset":
            return .status(!(args.first ?? "").isEmpty)
        case "iseq":
            return .status(args.count >= 2 && args[args.startIndex] == args[args.startIndex + 1])
        case "prompt":
            // Nobody presses a key at an unattended boot: with a timeout, prompt fails.
            let o = Self.options(args, [OptionSpec("key", "k", value: true), OptionSpec("timeout", "t", value: true)])
            return .status(o["timeout"].map { Int($0) == 0 } ?? true)
        case "cpuid":
            // Only x86 iPXE has cpuid; on x86_64 the usual `cpuid --ext 29` (long mode) holds.
            let arch = state.settings.value("buildarch") ?? ""
            return .status(arch == "x86_64" || (arch == "i386" && !args.contains("29")))
        case "goto":
            let label = args.first ?? ""
            guard let target = state.frames[state.frames.count - 1].script.labels[label] else {
                let context = state.trail.last.map { " (menu item '\($0.title)')" } ?? ""
                return warn("no label '\(label)'\(context)")
            }
            state.frames[state.frames.count - 1].jump = target
            return .status(true)
        case "exit":
            let code = args.first.flatMap { Int($0) } ?? 0
            if let stop = finishScript(&state, status: code == 0, exited: true, reason: "it exits iPXE") {
                return .stop(stop)
            }
            return .handled
        case "menu":
            let o = Self.options(args, [OptionSpec("name", "n", value: true), OptionSpec("delete", "d")])
            if let error = o.error { return warn(error) }
            if o.has("delete") {
                state.menus[o["name"] ?? ""] = nil
            } else {
                state.menus[o["name"] ?? ""] = Menu(title: Self.commandLine(o.rest))
            }
            return .status(true)
        case "item":
            let o = Self.options(args, [OptionSpec("menu", "m", value: true), OptionSpec("key", "k", value: true),
                                        OptionSpec("default", "d"), OptionSpec("gap", "g")])
            if let error = o.error { return warn(error) }
            let menuName = o["menu"] ?? ""
            guard state.menus[menuName] != nil else { return warn("no menu to add to (no 'menu' before it)") }
            var item = MenuItem(label: nil, text: Self.commandLine(o.rest))
            if !o.has("gap"), let label = o.rest.first {
                item = MenuItem(label: label, text: Self.commandLine(Array(o.rest.dropFirst())))
                if o.has("default") { state.menus[menuName]!.defaultLabel = label }
            }
            state.menus[menuName]!.items.append(item)
            return .status(true)
        case "choose":
            let o = Self.options(args, [OptionSpec("menu", "m", value: true), OptionSpec("default", "d", value: true),
                                        OptionSpec("timeout", "t", value: true), OptionSpec("retimeout", "r", value: true),
                                        OptionSpec("keep", "k")])
            if let error = o.error { return warn(error) }
            guard let variable = o.rest.first, !variable.isEmpty else { return warn("needs a setting to store the choice in") }
            let menuName = o["menu"] ?? ""
            guard let menu = state.menus[menuName] else { return warn("no menu to choose from (no 'menu' before it)") }
            if !o.has("keep") { state.menus[menuName] = nil }
            var timeout: Int?
            if let text = o["timeout"], !text.isEmpty {
                if let ms = Int(text) {
                    // Milliseconds, rounded up to seconds; 0 waits for ever.
                    timeout = ms <= 0 ? -1 : ms / 1000 + (ms % 1000 == 0 ? 0 : 1)
                } else {
                    diagnostics.add(Diagnostic(.warning, "choose: --timeout '\(text)' is not a number of milliseconds", at: here, file: config))
                }
            }
            let frame = state.frames[state.frames.count - 1]
            let site = Site(file: frame.script.path, line: here.line, command: frame.command - 1)
            let defaultLabel = o["default"].flatMap { $0.isEmpty ? nil : $0 } ?? menu.defaultLabel
            return .stop(.choose(Choice(site: site, menu: menu, variable: variable, defaultLabel: defaultLabel, timeout: timeout)))
        case "kernel", "imgselect", "imgload":
            let o = Self.options(args, Self.imageOptions)
            if let error = o.error { return warn(error) }
            guard let uri = o.rest.first else { return warn("needs an image") }
            guard let i = acquire(uri, name: o["name"], args: Array(o.rest.dropFirst()), at: here, &state) else { return .status(false) }
            state.selected = state.images[i].name
            return .status(true)
        case "initrd", "module", "imgfetch":
            let o = Self.options(args, Self.imageOptions)
            if let error = o.error { return warn(error) }
            guard let uri = o.rest.first else { return warn("needs an image") }
            return .status(acquire(uri, name: o["name"], args: Array(o.rest.dropFirst()), at: here, &state) != nil)
        case "chain", "imgexec", "boot":
            let o = Self.options(args, Self.imageOptions)
            if let error = o.error { return warn(error) }
            let index: Int
            if let uri = o.rest.first {
                guard let i = acquire(uri, name: o["name"], args: Array(o.rest.dropFirst()), at: here, &state) else { return .status(false) }
                index = i
            } else {
                guard let selected = state.selected, let i = state.images.firstIndex(where: { $0.name == selected }) else {
                    return warn("no image to boot (no 'kernel' before it)")
                }
                index = i
            }
            return exec(index, replace: o.has("replace"), at: here, &state)
        case "imgargs":
            guard let uri = args.first else { return warn("needs an image") }
            guard let i = acquire(uri, name: nil, args: [], at: here, &state) else { return .status(false) }
            state.images[i].args = Array(args.dropFirst())
            return .status(true)
        case "imgfree":
            if args.isEmpty {
                state.images = []
                state.selected = nil
                return .status(true)
            }
            var ok = true
            for image in args {
                if let i = state.images.firstIndex(where: { $0.name == image }) {
                    if state.selected == image { state.selected = nil }
                    state.images.remove(at: i)
                } else {
                    ok = false
                    diagnostics.add(Diagnostic(.warning, "imgfree: no image '\(image)'", at: here, file: config))
                }
            }
            return .status(ok)
        case "fdt":
            let o = Self.options(args, Self.imageOptions)
            if let error = o.error { return warn(error) }
            for i in state.images.indices { state.images[i].devicetree = false }
            guard let uri = o.rest.first else { return .status(true) }
            guard let i = acquire(uri, name: o["name"], args: Array(o.rest.dropFirst()), at: here, &state) else { return .status(false) }
            state.images[i].devicetree = true
            return .status(true)
        default:
            diagnostics.add(Diagnostic(.info, "unknown command '\(name)'", at: here, file: config))
            return .status(true)
        }
    }

    /// An image by name, or downloaded (registered) from a URI: what iPXE's image commands
    /// do with their first argument. `nil` when there is nothing to fetch.
    func acquire(_ uri: String, name: String?, args: [String], at here: SourceLocation, _ state: inout State) -> Int? {
        if URLText.scheme(of: uri) == nil, let i = state.images.lastIndex(where: { $0.name == uri }) {
            if !args.isEmpty { state.images[i].args = args }
            return i
        }
        guard !uri.isEmpty else {
            diagnostics.add(Diagnostic(.warning, "no image named (an unset setting?)", at: here, file: config))
            return nil
        }
        let base = state.frames[state.frames.count - 1].script.base
        var imageName = name ?? ResourceBase.basename(uri)
        if imageName.isEmpty { imageName = uri }
        var image = Image(name: imageName, uri: uri, resource: nil, problem: nil, args: args, location: here)
        if let scheme = URLText.scheme(of: uri), !ResourceBase.fetchableSchemes.contains(scheme) {
            image.problem = "kexboot cannot fetch \(scheme):// URLs (\(uri))"
        } else {
            image.resource = base.resource(uri)
        }
        // A new image replaces one of the same name.
        if let old = state.images.firstIndex(where: { $0.name == imageName }) {
            state.images.remove(at: old)
        } else if state.images.count >= Self.maxImages {
            diagnostics.add(Diagnostic(.warning, "more than \(Self.maxImages) images at once (a download loop?); \(uri) is not added", at: here, file: config))
            return nil
        }
        state.images.append(image)
        return state.images.count - 1
    }

    /// `chain`/`boot`: runs a script found on this filesystem, or boots the image.
    func exec(_ index: Int, replace: Bool, at here: SourceLocation, _ state: inout State) -> Outcome {
        let image = state.images[index]
        state.selected = image.name
        let scriptLike = Self.looksLikeScript(image.uri)
        guard case .file(_, let path)? = image.resource else {
            if scriptLike && image.problem == nil {
                // A script on the network: not fetched. `--replace` hands over to it; a plain
                // chain comes back when it ends, so the path carries on (the success path).
                let shown = image.resource?.description ?? image.uri
                let reason = "it chains the script \(shown), which kexboot does not fetch"
                if replace { return .stop(.leftOut(reason)) }
                state.images.remove(at: index)
                state.selected = nil
                state.unfetched = reason
                diagnostics.add(Diagnostic(.info, "chain: \(shown) is a script kexboot does not fetch; carrying on as if it returned", at: here, file: config))
                return .status(true)
            }
            return .stop(.boot(index))
        }
        let exists = files.info(path)?.kind == .file
        let chained: IPXEScript?
        do {
            chained = exists ? try script(at: path, base: .directory(Path.directory(path))) : nil
        } catch {
            if !includeLimitReported {
                includeLimitReported = true
                diagnostics.add(Diagnostic(.error, "chain: \(error.message)", at: here, file: config))
            }
            return .stop(.leftOut("it chains \(path), which is past the limit of files read"))
        }
        if let script = chained {
            // Scripts are run, not handed to a kernel as initrds.
            state.images.remove(at: index)
            state.selected = nil
            guard state.frames.count < Self.maxChainDepth else {
                return .stop(.leftOut("scripts chain each other more than \(Self.maxChainDepth) deep"))
            }
            if replace { state.frames.removeLast() }
            state.frames.append(Frame(script: script))
            return .handled
        }
        if scriptLike {
            state.images.remove(at: index)
            state.selected = nil
            if exists {
                diagnostics.add(Diagnostic(.warning, "\(image.uri): \(path) is not an iPXE script (no #!ipxe line)", at: here, file: config))
            } else {
                diagnostics.add(Diagnostic(.info, "\(image.uri): \(path): no such file", at: here, file: config))
            }
            return .status(false)
        }
        return .stop(.boot(index))
    }
}
