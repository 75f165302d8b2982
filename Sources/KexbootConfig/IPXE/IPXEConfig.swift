import KexbootCore

/// iPXE scripts (`#!ipxe`, https://ipxe.org/scripting), evaluated statically: the script
/// runs in a model of iPXE in which nothing is downloaded and no network command does
/// anything, to find out what each path through it would boot.
///
/// - Settings: `set`, `clear`, `inc`, `${name}` / `${name:type}` (from `--env`, see
///   `IPXESettings.presets`); an unset setting expands to nothing, so `isset`/`iseq` decide
///   as iPXE would with those values.
/// - Commands whose outcome depends on the network (`dhcp`, `ifopen`, downloads, `chain`
///   of a kernel) succeed: where a script says `cmd || goto fail`, the success path is the
///   one followed. `prompt --timeout` fails (nobody presses a key), as at an unattended boot.
/// - Images: `kernel`/`imgselect`, `initrd`/`module`/`imgfetch`, `imgargs`, `imgfree`, `fdt`
///   keep iPXE's list of downloaded images, each named by `--name` or by the last component
///   of its URI. `boot`/`chain`/`imgexec` boot one: it becomes the kernel, every other image
///   an initrd, in download order (what iPXE hands a Linux kernel), and the kernel's
///   arguments its command line, as iPXE passes them (`initrd=NAME` words stay).
/// - A script that ends with a kernel selected but never says `boot` boots it (an info
///   diagnostic says so); `exit`, `shell`, `sanboot`, `reboot`, … boot nothing.
/// - `chain` of a script on the same filesystem (a file starting `#!ipxe`) runs it, as a
///   nested script (`--replace`: instead of this one). A script elsewhere (`.ipxe`, `.cfg`,
///   `.php`, `?query` URLs …) is not fetched: with `--replace` the path is left out; else
///   the path carries on as if the script had returned, and if it then boots nothing the
///   unfetched script is given as the reason.
/// - Menus: `menu`, `item`, `choose`. At `choose` the evaluation forks: each item runs on
///   from there with the setting set to its label, and becomes an entry (id: the label,
///   title: the item text) if it reaches a kernel. An item that reaches another `choose`
///   (a submenu) gives that menu's entries, with `path` the item texts down to them; an
///   item that comes back to a menu already shown on its way (a "back" or "config then
///   menu again" item) is left out. The first menu's `--default` item is the default and
///   its `--timeout` (milliseconds) the timeout, rounded up to seconds; `--timeout 0`
///   (iPXE: wait for ever) is `-1`, no `--timeout` is `null`.
/// - A script without a menu gives one entry for what its straight-line run boots; its id
///   and title are the kernel image's name (`--name`, else the last component of its URI).
/// - Relative names resolve against the script's own directory (or the `prefix` given):
///   files on the same filesystem, or URLs when the prefix is a URL. `http`, `https`,
///   `tftp`, `ftp` and `file` URLs stay URLs; a path needing another scheme (`nfs://`) is
///   left out.
/// - `${http-proxy}`, when set at a boot, becomes the result's `proxy`.
///
/// Endless loops stop: a `goto` that comes back to a state already seen, more than
/// `maxStepsPerPath` commands on one path, or `maxSteps` commands in all. The limits every
/// language shares (`ConfigLimits`) hold too: a command whose words expand past
/// `maxCommandLength` or a `set` past `maxValueLength` fails (as a command out of memory
/// fails in iPXE), and evaluation stops past `maxExpansionBytes` of expansion,
/// `maxIncludedFiles` chained scripts or `maxEntries` entries.
public enum IPXEConfig {
    /// Parses the script at `path`.
    ///
    /// - Parameters:
    ///   - env: `--env` variables (see `IPXESettings.presets`).
    ///   - prefix: where relative names resolve instead of the script's directory: a
    ///     directory of `files` or a URL (`http://server/boot/`).
    public static func parse(path: String, files: any FileSource, env: [(String, String)] = [],
                             platform: Platform = .current, prefix: String? = nil) throws -> ParseResult {
        let config = Path.normalize(path)
        let bytes = try files.read(config)
        let base = prefix.map(ResourceBase.init(prefix:)) ?? .directory(Path.directory(config))
        let script = IPXEScript(path: config, base: base, bytes: bytes)
        let interpreter = IPXEInterpreter(files: files, config: config)
        _ = interpreter.input.charge(bytes: bytes.count)
        if !script.hasMagic {
            interpreter.diagnostics.add(Diagnostic(.warning, "the first line is not #!ipxe; read as an iPXE script anyway", file: config))
        }
        return interpreter.run(script, settings: IPXESettings.presets(env: env, platform: platform))
    }
}

/// The evaluator behind `IPXEConfig`: explores every path through a script.
final class IPXEInterpreter {
    static let maxStepsPerPath = 20_000
    static let maxSteps = 500_000
    static let maxMenuDepth = 16
    static let maxChainDepth = 16
    /// Images one path may hold at once: a script boots a kernel with a few initrds, and
    /// every `goto` keeps a copy of the list to find endless loops.
    static let maxImages = 64
    /// Chained files larger than this are not looked at as scripts.
    static let maxScriptSize = 4 << 20

    /// A `choose` command: which file, line number and command of the line.
    struct Site: Hashable {
        let file: String
        let line: Int
        let command: Int
    }

    /// A downloaded image, in iPXE's image list.
    struct Image: Hashable {
        var name: String
        var uri: String
        /// `nil` when `problem` says why it cannot be fetched.
        var resource: Resource?
        var problem: String?
        var args: [String]
        var devicetree = false
        var location: SourceLocation

        /// About what comparing it, and keeping a copy, costs.
        var size: Int { name.utf8.count + uri.utf8.count + args.reduce(128) { $0 + $1.utf8.count + 16 } }
    }

    struct MenuItem: Hashable {
        /// `nil` for `--gap` separators.
        var label: String?
        var text: String
    }

    struct Menu: Hashable {
        var title: String
        var items: [MenuItem] = []
        var defaultLabel: String?
    }

    /// A running script: the next command to run and the status of the line so far.
    struct Frame {
        let script: IPXEScript
        var line = 0
        var command = 0
        var status = true
        /// Set by `goto`: the line to go on from once this line is done.
        var jump: Int?
        /// Why the line failed, for the diagnostic when that ends the script.
        var failure: String?
    }

    /// Everything one path through the script has done so far; forked at `choose`.
    struct State {
        var settings: IPXESettings
        var frames: [Frame]
        var images: [Image] = []
        var selected: String?
        var menus: [String: Menu] = [:]
        /// The menu items chosen to get here: (label, text), outermost first.
        var trail: [(label: String, title: String)] = []
        /// `choose` commands this path has been through, with the menu's description.
        var menusShown: [Site: String] = [:]
        var steps = 0
        var seen: Set<Snapshot> = []
        /// The command running (or last run).
        var location: SourceLocation?
        /// Set when the path chained a script it could not read: the likely reason it boots
        /// nothing.
        var unfetched: String?
    }

    /// What decides the rest of a path, taken at each `goto`: the same snapshot twice means
    /// an endless loop. Kept as two independent 64-bit digests of that state, not a copy
    /// of it: a loop that grows its settings or images a little each time would otherwise
    /// keep thousands of ever longer copies (two different states have the same pair with
    /// odds of about 2⁻¹²⁸).
    struct Snapshot: Hashable {
        let first: Int
        let second: Int

        init(_ state: State) {
            func digest(_ salt: UInt8) -> Int {
                var hasher = Hasher()
                hasher.combine(salt)
                hasher.combine(state.frames.count)
                for frame in state.frames {
                    hasher.combine(frame.line)
                    hasher.combine(frame.command)
                    hasher.combine(frame.script.path)
                }
                hasher.combine(state.settings)
                hasher.combine(state.images)
                hasher.combine(state.selected)
                return hasher.finalize()
            }
            first = digest(0)
            second = digest(1)
        }
    }

    struct Choice {
        let site: Site
        let menu: Menu
        let variable: String
        let defaultLabel: String?
        let timeout: Int?
    }

    /// Why a path stops.
    enum Stop {
        /// Boots the image at this index of `State.images`.
        case boot(Int)
        case leftOut(String)
        case choose(Choice)
    }

    enum Outcome {
        case status(Bool)
        case stop(Stop)
        /// The command changed the running scripts itself (chain, exit).
        case handled
    }

    /// The first menu of the script: its default and timeout, and which entries came from
    /// which item.
    struct TopMenu {
        var defaultLabel: String?
        var timeout: Int?
        var labels: Set<String>
        var location: SourceLocation?
        var firstEntry: [String: Int] = [:]
    }

    let files: any FileSource
    let config: String
    var diagnostics = DiagnosticSink()
    var entries: [BootOption] = []
    var stepsLeft = IPXEInterpreter.maxSteps
    /// What is left of `ConfigLimits.maxExpansionBytes`: bytes expanded, and the settings
    /// and images compared at each `goto`.
    var expansionLeft = ConfigLimits.maxExpansionBytes
    var input = InputBudget()
    var includeLimitReported = false
    var kept = EntryBudget()
    /// Set when a limit of the whole parse ran out (reported once): no path goes on.
    var exhausted = false
    var top: TopMenu?
    var proxy: String?
    /// Files chained as scripts, by path (`nil`: read, and not a script).
    var scripts: [String: IPXEScript?] = [:]
    private var budgetReported = false

    init(files: any FileSource, config: String) {
        self.files = files
        self.config = config
    }

    func run(_ script: IPXEScript, settings: IPXESettings) -> ParseResult {
        scripts[script.path] = script
        explore(State(settings: settings, frames: [Frame(script: script)]))
        var result = ParseResult(format: .ipxe, config: config, entries: entries)
        result.proxy = proxy
        if let top {
            result.timeout = top.timeout
            if let label = top.defaultLabel {
                if let i = top.firstEntry[label] {
                    result.defaultIndex = i
                } else if entries.isEmpty {
                    // Nothing to point at.
                } else if top.labels.contains(label) {
                    diagnostics.add(Diagnostic(.info, "the menu's default item '\(label)' boots nothing kexec can load; the first entry is the default", at: top.location, file: config))
                } else {
                    diagnostics.add(Diagnostic(.warning, "choose --default '\(label)' names no menu item; using the first entry", at: top.location, file: config))
                }
            }
        }
        result.diagnostics = diagnostics.items
        result.finish()
        return result
    }

    // MARK: - Paths

    /// Runs one path to its end: an entry, a left-out path, or a fork at `choose`.
    func explore(_ start: State) {
        var state = start
        while true {
            if exhausted { return }
            guard stepsLeft > 0 else {
                if !budgetReported {
                    budgetReported = true
                    diagnostics.add(Diagnostic(.error, "evaluation stopped after \(Self.maxSteps) commands; the rest of the script's menu items are left out", at: state.location, file: config))
                }
                return
            }
            stepsLeft -= 1
            state.steps += 1
            if state.steps > Self.maxStepsPerPath {
                diagnostics.add(Diagnostic(.warning, "more than \(Self.maxStepsPerPath) commands without booting (an endless loop?)", at: state.location, file: config))
                leaveOut(state, "it runs more than \(Self.maxStepsPerPath) commands without booting")
                return
            }
            guard let stop = step(&state) else { continue }
            switch stop {
            case .boot(let index):
                boot(state, index)
            case .leftOut(let reason):
                leaveOut(state, reason)
            case .choose(let choice):
                choose(state, choice)
            }
            return
        }
    }

    func leaveOut(_ state: State, _ reason: String) {
        let reason = state.unfetched ?? reason
        if let item = state.trail.last {
            diagnostics.add(Diagnostic(.info, "'\(item.title)' left out: \(reason)", at: state.location, file: config))
        } else {
            diagnostics.add(Diagnostic(.info, "the script boots nothing kexec can load: \(reason)", at: state.location, file: config))
        }
    }

    /// Forks at a menu: every item goes on from here with the setting set to its label.
    func choose(_ state: State, _ choice: Choice) {
        if let shown = state.menusShown[choice.site] {
            leaveOut(state, "it goes back to \(shown)")
            return
        }
        guard state.trail.count < Self.maxMenuDepth else {
            diagnostics.add(Diagnostic(.warning, "menus nested more than \(Self.maxMenuDepth) deep", at: state.location, file: config))
            leaveOut(state, "menus nested more than \(Self.maxMenuDepth) deep")
            return
        }
        let items = choice.menu.items.compactMap { item in item.label.map { (label: $0, title: item.text.isEmpty ? $0 : item.text) } }
        guard !items.isEmpty else {
            diagnostics.add(Diagnostic(.warning, "choose: the menu has no items", at: state.location, file: config))
            leaveOut(state, "its menu has no items")
            return
        }
        let isTop = state.trail.isEmpty && top == nil
        if isTop {
            top = TopMenu(defaultLabel: choice.defaultLabel, timeout: choice.timeout, labels: Set(items.map(\.label)), location: state.location)
        }
        let description = choice.menu.title.isEmpty ? "the menu at line \(choice.site.line)" : "the menu '\(choice.menu.title)'"
        for item in items {
            var next = state
            next.settings.set(choice.variable, item.label)
            next.frames[next.frames.count - 1].status = true
            next.trail.append(item)
            next.menusShown[choice.site] = description
            next.steps = 0
            next.seen = []
            let before = entries.count
            explore(next)
            if isTop, entries.count > before, top?.firstEntry[item.label] == nil {
                top?.firstEntry[item.label] = before
            }
        }
    }

    /// Runs the next command of the innermost script; `nil` while the path goes on.
    func step(_ state: inout State) -> Stop? {
        let top = state.frames.count - 1
        var frame = state.frames[top]
        let script = frame.script
        // Labels, comments and blank lines do nothing (and cost no step).
        while frame.command == 0, frame.line < script.lines.count, script.lines[frame.line].commands.isEmpty {
            frame.line += 1
        }
        state.frames[top] = frame
        guard frame.line < script.lines.count else {
            return finishScript(&state, status: true, exited: false, reason: "the script ends without booting a kernel")
        }
        let line = script.lines[frame.line]
        guard frame.command < line.commands.count else {
            // The line is done: a failure nothing handled ends the script.
            if !frame.status {
                return finishScript(&state, status: false, exited: false, reason: frame.failure ?? "a command fails, which ends the script")
            }
            let jumped = frame.jump != nil
            frame.line = frame.jump ?? frame.line + 1
            frame.command = 0
            frame.jump = nil
            frame.failure = nil
            state.frames[top] = frame
            if jumped {
                // Comparing states costs their size: counted, so big settings cannot make
                // thousands of gotos expensive.
                guard spend(state.settings.size + state.images.reduce(0) { $0 + $1.size }, at: state.location) else { return .leftOut("evaluation stopped") }
                if !state.seen.insert(Snapshot(state)).inserted {
                    diagnostics.add(Diagnostic(.warning, "goto loop: this goto comes back to where it was with nothing changed", at: state.location, file: config))
                    return .leftOut("it loops for ever (goto)")
                }
            }
            return nil
        }
        let command = line.commands[frame.command]
        frame.command += 1
        state.frames[top] = frame
        switch command.joiner {
        case .always: break
        case .and: guard frame.status else { return nil }
        case .or: guard !frame.status else { return nil }
        }
        guard let first = command.words.first else {
            state.frames[top].status = true
            return nil
        }
        let here = SourceLocation(file: script.path, line: line.number, column: first.column)
        state.location = here
        guard let argv = expand(command.words, at: here, state.settings) else {
            if exhausted { return .leftOut("evaluation stopped") }
            state.frames[top].status = false
            state.frames[top].failure = "'\(first.text)' at line \(line.number) expands to more than \(ConfigLimits.describe(bytes: ConfigLimits.maxCommandLength)), which ends the script"
            return nil
        }
        switch execute(argv, at: here, &state) {
        case .status(let ok):
            state.frames[top].status = ok
            if !ok {
                state.frames[top].failure = "'\(argv[0])' fails at line \(line.number), which ends the script"
            }
            return nil
        case .stop(let stop):
            return stop
        case .handled:
            return nil
        }
    }

    /// A command's words with their settings expanded; `nil` (reported) when together they
    /// would be longer than `ConfigLimits.maxCommandLength`, or the expansion budget ran out.
    func expand(_ words: [IPXEScript.Word], at here: SourceLocation, _ settings: IPXESettings) -> [String]? {
        var argv: [String] = []
        argv.reserveCapacity(words.count)
        var length = 0
        var produced = 0
        for word in words {
            guard let text = settings.expand(word.text, limit: ConfigLimits.maxCommandLength - length, produced: &produced) else {
                diagnostics.add(Diagnostic(.warning, "'\(String(decoding: (argv.first ?? word.text).utf8.prefix(64), as: UTF8.self))': its words expand to more than \(ConfigLimits.describe(bytes: ConfigLimits.maxCommandLength)); it fails",
                                           at: here, file: config))
                _ = spend(produced, at: here)
                return nil
            }
            length += text.utf8.count
            argv.append(text)
        }
        return spend(produced, at: here) ? argv : nil
    }

    /// Counts `bytes` against `expansionLeft`; `false` (reported, and evaluation stops) once
    /// it has run out.
    func spend(_ bytes: Int, at location: SourceLocation?) -> Bool {
        guard !exhausted else { return false }
        guard bytes <= expansionLeft else {
            exhaust("evaluation stopped: settings expanded and compared to more than \(ConfigLimits.describe(bytes: ConfigLimits.maxExpansionBytes)) in all; the rest of the script's menu items are left out", at: location)
            return false
        }
        expansionLeft -= bytes
        return true
    }

    /// Stops the evaluation: a limit of the whole parse ran out.
    func exhaust(_ message: String, at location: SourceLocation?) {
        guard !exhausted else { return }
        exhausted = true
        diagnostics.add(Diagnostic(.error, message, at: location, file: config))
    }

    /// The innermost script ends: the path ends with it, or its caller goes on with its status.
    func finishScript(_ state: inout State, status: Bool, exited: Bool, reason: String) -> Stop? {
        state.frames.removeLast()
        guard state.frames.isEmpty else {
            let top = state.frames.count - 1
            state.frames[top].status = status
            if !status { state.frames[top].failure = "the script it chains fails: \(reason)" }
            return nil
        }
        if status, !exited, let name = state.selected, let i = state.images.firstIndex(where: { $0.name == name }) {
            diagnostics.add(Diagnostic(.info, "the script ends with '\(name)' selected but no 'boot'; kexboot boots it", at: state.location, file: config))
            return .boot(i)
        }
        return .leftOut(reason)
    }

    // MARK: - Booting

    func boot(_ state: State, _ index: Int) {
        let kernel = state.images[index]
        if let problem = kernel.problem {
            return leaveOut(state, problem)
        }
        guard let kernelResource = kernel.resource else { return leaveOut(state, "its kernel cannot be fetched") }
        if let reason = Self.notLinux(kernel.uri) {
            return leaveOut(state, reason)
        }
        var others: [Image] = []
        for (i, image) in state.images.enumerated() where i != index && !image.devicetree {
            others.append(image)
        }
        if let bad = others.first(where: { $0.problem != nil }) {
            return leaveOut(state, bad.problem!)
        }
        let devicetree = state.images.last(where: \.devicetree)
        if let problem = devicetree?.problem {
            return leaveOut(state, problem)
        }
        let id: String
        let title: String
        let path: [String]
        if let item = state.trail.last {
            id = item.label
            title = item.title
            path = state.trail.map(\.title)
        } else {
            id = kernel.name
            title = kernel.name
            path = [title]
        }
        let args = Self.commandLine(kernel.args)
        var option: BootOption
        if Self.isMultiboot(kernel.uri) {
            option = BootOption(id: id, title: title, path: path, kind: .multiboot, kernel: kernelResource,
                                modules: others.compactMap { image in image.resource.map { BootModule(resource: $0, args: Self.commandLine(image.args)) } },
                                args: args)
        } else {
            for image in others where !image.args.filter({ !$0.isEmpty }).isEmpty {
                diagnostics.add(Diagnostic(.info, "initrd '\(image.name)' has arguments (\(Self.commandLine(image.args))): iPXE would add it to the initramfs under that name; kexboot loads it as a plain initrd", at: image.location, file: config))
            }
            option = BootOption(id: id, title: title, path: path, kind: .linux, kernel: kernelResource,
                                initrds: others.compactMap(\.resource), devicetree: devicetree?.resource, args: args)
        }
        guard kept.admit(option) else {
            if let refusal = kept.refusal(at: state.location, file: config) { diagnostics.add(refusal) }
            exhausted = true
            return
        }
        if proxy == nil, let value = state.settings.value("http-proxy") { proxy = value }
        entries.append(option)
    }

    /// Arguments as the kernel sees them: joined by single spaces (empty words, from unset
    /// settings, folded away).
    static func commandLine(_ words: [String]) -> String {
        words.filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Why an image with this URI is not a Linux kernel kexec can load, if it is not.
    static func notLinux(_ uri: String) -> String? {
        let name = ResourceBase.basename(uri)
        let lower = name.lowercased()
        switch lower {
        case "memdisk": return "memdisk is syslinux's disk emulator, not a Linux kernel"
        case "wimboot": return "wimboot boots Windows, not Linux"
        default: break
        }
        if lower.hasSuffix(".efi") { return "\(name) is an EFI program, not a Linux kernel" }
        if [".pxe", ".kpxe", ".kkpxe", ".kkkpxe", ".0"].contains(where: { lower.hasSuffix($0) }) {
            return "\(name) is a PXE program, not a Linux kernel"
        }
        if lower.hasSuffix(".c32") { return "\(name) is a syslinux module, not a Linux kernel" }
        if [".iso", ".img", ".bin", ".com", ".exe", ".bs", ".bss", ".cbt"].contains(where: { lower.hasSuffix($0) }) {
            return "\(name) is not a Linux kernel"
        }
        return nil
    }

    /// Whether a URI names another script rather than a kernel (by its name: scripts are
    /// `.ipxe` files or made by a web server).
    static func looksLikeScript(_ uri: String) -> Bool {
        if uri.contains("?") { return true }
        let lower = ResourceBase.basename(uri).lowercased()
        return [".ipxe", ".gpxe", ".php", ".cgi", ".pl", ".py", ".asp", ".aspx", ".jsp", ".cfg", ".txt", ".sh"]
            .contains(where: { lower.hasSuffix($0) })
    }

    /// Xen and tboot: the other images are their multiboot modules.
    static func isMultiboot(_ uri: String) -> Bool {
        let lower = ResourceBase.basename(uri).lowercased()
        return lower == "xen" || lower.hasPrefix("xen.") || lower.hasPrefix("xen-") || lower.hasPrefix("tboot")
    }

    /// The script in a file, read once; `nil` when the file is not an iPXE script. Throws
    /// when reading it would go past `ConfigLimits.maxIncludedFiles` or `maxInputBytes`.
    func script(at path: String, base: ResourceBase) throws(InputBudget.Refusal) -> IPXEScript? {
        if let known = scripts[path] { return known }
        var script: IPXEScript?
        if let info = files.info(path), info.kind == .file, info.size <= Self.maxScriptSize {
            switch input.read(path, from: files, limit: Self.maxScriptSize) {
            case .success(let bytes):
                if IPXEScript.hasMagic(bytes) { script = IPXEScript(path: path, base: base, bytes: bytes) }
            case .failure(let refusal) where refusal.isLimit:
                // Not remembered: the file itself may be fine.
                throw refusal
            case .failure:
                break
            }
        }
        scripts[path] = script
        return script
    }
}
