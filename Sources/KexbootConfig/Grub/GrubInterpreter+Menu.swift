import KexbootCore

/// Defining menu items, running their bodies once the config has finished, and working
/// out which entry autoboot picks.
extension GrubInterpreter {
    func defineMenuItem(_ builtin: GrubBuiltin, _ args: [String], block: SourceRange?, at loc: SourceLocation) -> Int {
        let name = builtin.rawValue
        // A menuentry inside an entry's body is only shown if the entry is opened as a menu.
        if boot != nil { return 0 }
        guard let block else {
            warn("\(name) without a { … } block", at: loc)
            return 1
        }
        var positional: [String] = []
        var id: String?
        var i = 0
        var optionsDone = false
        while i < args.count {
            let a = args[i]
            i += 1
            if optionsDone || !a.hasPrefix("--") || a == "--" {
                if a == "--" && !optionsDone { optionsDone = true; continue }
                positional.append(a)
                continue
            }
            switch a {
            case "--class", "--users", "--hotkey", "--source":
                i += 1
            case "--id":
                if i < args.count { id = args[i] }
                i += 1
            case "--unrestricted":
                break
            default:
                if a.hasPrefix("--id=") {
                    id = String(a.dropFirst(5))
                } else if a.hasPrefix("--class=") || a.hasPrefix("--users=") || a.hasPrefix("--hotkey=") || a.hasPrefix("--source=") {
                    break
                } else {
                    warn("\(name): unknown option '\(a)'", at: loc)
                }
            }
        }
        guard let title = positional.first else {
            warn("\(name) without a title", at: loc)
            return 1
        }
        guard roomForMenuItem(at: loc) else { return 1 }
        context.menu.append(GrubMenuItem(
            title: title, id: id, extraArgs: Array(positional.dropFirst()),
            isSubmenu: builtin == .submenu, isHidden: builtin == .hiddenentry,
            body: .script(block), location: loc, context: context))
        return 0
    }

    /// Whether one more menu item may be defined (`ConfigLimits.maxEntries` in all, in
    /// every context); when not, this phase of the parse stops there.
    func roomForMenuItem(at loc: SourceLocation) -> Bool {
        guard menuItemsDefined < ConfigLimits.maxEntries else {
            exhaust(EntryBudget.message(full: true), at: loc)
            return false
        }
        menuItemsDefined += 1
        return true
    }

    // MARK: blscfg

    func blscfg(at loc: SourceLocation) -> Int {
        let blsdir = variable("blsdir")
        let candidates = blsdir.isEmpty ? ["/loader/entries", "/boot/loader/entries"] : [blsdir]
        for dir in candidates {
            guard let local = localPath(dir) else {
                warn("blscfg: \(dir) is on another device (\(describe(splitFileName(dir).0))), not read", at: loc)
                return 1
            }
            guard files.info(local)?.kind == .directory else { continue }
            let entries = BLSEntry.loadDirectory(local, files: files, diagnostics: &diagnostics, input: &input)
            let bootPrefix = local.hasPrefix("/boot/") ? "/boot" : ""
            for entry in entries {
                guard roomForMenuItem(at: loc) else { return 1 }
                context.menu.append(GrubMenuItem(
                    title: entry.title ?? entry.id, id: entry.id, extraArgs: [], isSubmenu: false,
                    isHidden: false, body: .bls(entry, bootPrefix: bootPrefix), location: loc, context: context))
            }
            return 0
        }
        warn("blscfg: no \(candidates.joined(separator: " or ")) directory", at: loc)
        return 1
    }

    /// What `blscfg`'s generated entry does: `linux`, `initrd`, `devicetree` from the
    /// snippet, with `options` expanded like script words (so `$kernelopts` works).
    func loadBLS(_ entry: BLSEntry, bootPrefix: String) {
        guard let linux = entry.linux else {
            boot?.unbootable = entry.efi != nil ? "it starts an EFI program" : "its snippet has no 'linux' line"
            return
        }
        func file(_ path: String) -> Resource {
            var p = path.hasPrefix("/") ? path : "/" + path
            if !bootPrefix.isEmpty && !p.hasPrefix(bootPrefix + "/") {
                let local = localPath(p)
                if local == nil || files.info(local!) == nil { p = bootPrefix + p }
            }
            return resource(p)
        }
        // blscfg writes these lines into the entry's script: variables expand at boot, and
        // an empty one (`$tuned_initrd`) adds nothing.
        boot?.kind = .linux
        boot?.kernel = file(expandText(linux, name: entry.path).first ?? linux)
        boot?.initrds = entry.initrdLines.flatMap { expandText($0, name: entry.path) }.map(file)
        boot?.devicetree = entry.devicetree.flatMap { expandText($0, name: entry.path).first }.map(file)
        boot?.args = GrubCommandLine.build(expandText(entry.options.joined(separator: " "), name: entry.path))
    }

    /// Text expanded as the arguments of one GRUB command.
    func expandText(_ text: String, name: String) -> [String] {
        var lexer = GrubLexer(SourceRange(file: SourceFile(path: name, text: text)))
        var argv: [String] = []
        while true {
            guard let token = try? lexer.next() else {
                // An unbalanced quote: fall back to plain words.
                return text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            }
            if token.kind == .end { return argv }
            if token.kind == .word { expand(token.word, into: &argv) }
        }
    }

    // MARK: Running the bodies

    indirect enum ResolvedItem {
        /// `index` into the entries; `nil` when the entry cannot be booted by kexec.
        case entry(index: Int?, title: String, id: String?)
        case submenu(title: String, id: String?, items: [ResolvedItem], context: GrubContext)

        var title: String {
            switch self {
            case .entry(_, let t, _), .submenu(let t, _, _, _): t
            }
        }

        var id: String? {
            switch self {
            case .entry(_, _, let i), .submenu(_, let i, _, _): i
            }
        }
    }

    func resolveMenu(_ ctx: GrubContext, path: [String], into entries: inout [BootOption]) -> [ResolvedItem] {
        var positions: [Int] = []
        return resolveMenu(ctx, path: path, into: &entries, positions: &positions)
    }

    /// `positions[i]` is where the items from `ctx.menu[i]` on start in the result: menu
    /// items GRUB would not define (or that are left out) have none of their own.
    func resolveMenu(_ ctx: GrubContext, path: [String], into entries: inout [BootOption], positions: inout [Int]) -> [ResolvedItem] {
        var out: [ResolvedItem] = []
        out.reserveCapacity(ctx.menu.count)
        positions = []
        positions.reserveCapacity(ctx.menu.count + 1)
        defer { positions.append(out.count) }
        for item in ctx.menu {
            positions.append(out.count)
            let itemPath = path + [item.title]
            if item.isSubmenu {
                guard case .script(let body) = item.body, submenuDepth < Self.maxSubmenuDepth else {
                    diagnostics.add(.error, "submenus nested more than \(Self.maxSubmenuDepth) deep; '\(item.title)' left out", at: item.location)
                    continue
                }
                let sub = newContext(from: item.context)
                let saved = (context, frames, budget, budgetReported, status)
                context = sub
                frames = [[item.title] + item.extraArgs]
                budget = Self.topLevelBudget
                budgetReported = false
                submenuDepth += 1
                defer { submenuDepth -= 1 }
                run(body)
                (context, frames, budget, budgetReported, status) = saved
                let children = resolveMenu(sub, path: itemPath, into: &entries)
                out.append(.submenu(title: item.title, id: item.id, items: children, context: sub))
            } else {
                switch evaluateEntry(item, path: itemPath) {
                case .bootable(let option):
                    guard kept.admit(option) else {
                        if let refusal = kept.refusal(at: item.location, file: item.location.file) { diagnostics.add(refusal) }
                        exhausted = true
                        out.append(.entry(index: nil, title: item.title, id: item.id))
                        continue
                    }
                    entries.append(option)
                    out.append(.entry(index: entries.count - 1, title: item.title, id: item.id))
                case .unbootable:
                    out.append(.entry(index: nil, title: item.title, id: item.id))
                case .invalid:
                    // GRUB never defines an entry whose body does not parse: it is no item.
                    continue
                }
            }
        }
        return out
    }

    enum EntryOutcome {
        case bootable(BootOption)
        /// A menu item kexec cannot boot (chainloader, fwsetup, no kernel).
        case unbootable
        /// The body does not parse: GRUB would not have the item at all.
        case invalid
    }

    /// Runs one entry's body from the environment its context ended with.
    func evaluateEntry(_ item: GrubMenuItem, path: [String]) -> EntryOutcome {
        // Its variables are copied as soon as it sets one. Past a limit of the parse
        // (reported once), the remaining entries are not run.
        guard step(item.location, cost: Self.copyCost(item.context)) else { return .unbootable }
        let saved = (context, frames, budget, budgetReported, status, boot, loopbacks)
        defer { (context, frames, budget, budgetReported, status, boot, loopbacks) = saved }
        context = GrubContext(vars: item.context.vars)
        frames = [[item.title] + item.extraArgs]
        budget = Self.entryBudget
        budgetReported = false
        boot = BootState()
        switch item.body {
        case .script(let range):
            guard let nodes = parseWhole(range, what: "menu entry '\(item.title)'") else { return .invalid }
            _ = execList(nodes)
        case .bls(let entry, let bootPrefix):
            loadBLS(entry, bootPrefix: bootPrefix)
        }
        let state = boot!
        if state.unbootable == nil, state.fileError != nil {
            // Kept so the menu shows it, with no kernel: its error is a diagnostic at the
            // loader command, and booting it is refused.
            var option = BootOption(
                id: item.id ?? item.title, title: item.title, path: path, kind: state.kind,
                initrds: state.initrds, devicetree: state.devicetree, modules: state.modules, args: state.args)
            option.loopbacks = [:]
            return .bootable(option)
        }
        guard let kernel = state.kernel else {
            info("'\(item.title)' left out: \(state.unbootable ?? "it loads no kernel")", at: item.location)
            return .unbootable
        }
        var option = BootOption(
            id: item.id ?? item.title, title: item.title, path: path, kind: state.kind,
            kernel: kernel, initrds: state.initrds, devicetree: state.devicetree,
            modules: state.modules, args: state.args)
        // The loopback devices its files are on, and only those.
        let used = Set(([kernel] + state.initrds + [state.devicetree].compactMap { $0 } + state.modules.map(\.resource))
            .compactMap { $0.device.flatMap { $0.hasPrefix("grub:") ? String($0.dropFirst(5)) : nil } })
        option.loopbacks = loopbacks.filter { used.contains($0.key) }
        return .bootable(option)
    }

    // MARK: Default

    enum DefaultMatch {
        case entry(Int)
        case unbootable
        case none
    }

    /// Splits `a>b>c` at single `>`; `>>` stands for a literal `>`.
    static func defaultPath(_ spec: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var chars = spec.makeIterator()
        var pending: Character? = chars.next()
        while let c = pending {
            pending = chars.next()
            if c == ">" {
                if pending == ">" {
                    current.append(">")
                    pending = chars.next()
                } else {
                    parts.append(current)
                    current = ""
                }
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        return parts
    }

    func matchDefault(_ parts: ArraySlice<String>, in items: [ResolvedItem]) -> DefaultMatch {
        guard let part = parts.first else { return .none }
        let found: ResolvedItem?
        if !part.isEmpty, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            let n = Int(part) ?? Int.max
            found = n < items.count ? items[n] : nil
        } else {
            found = items.first { $0.title == part || $0.id == part }
        }
        switch found {
        case nil:
            return .none
        case .entry(let index, _, _)?:
            return index.map(DefaultMatch.entry) ?? .unbootable
        case .submenu(_, _, let children, let subContext)?:
            var rest = parts.dropFirst()
            if rest.isEmpty, let inner = subContext["default"], !inner.isEmpty {
                rest = ArraySlice(Self.defaultPath(inner))
            }
            if !rest.isEmpty, case .entry(let i) = matchDefault(rest, in: children) { return .entry(i) }
            return firstEntry(children).map(DefaultMatch.entry) ?? .unbootable
        }
    }

    func firstEntry(_ items: [ResolvedItem]) -> Int? {
        for item in items {
            switch item {
            case .entry(let index?, _, _): return index
            case .entry(nil, _, _): continue
            case .submenu(_, _, let children, _): if let i = firstEntry(children) { return i }
            }
        }
        return nil
    }
}
