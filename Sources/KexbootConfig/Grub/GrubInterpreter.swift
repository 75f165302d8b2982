import KexbootCore

/// Runs GRUB script the way GRUB's normal mode does, then runs every menu entry's body to
/// see what it would boot.
///
/// Nothing here touches a disk except through `files`, and nothing is ever written
/// (`save_env` is accepted and ignored).
final class GrubInterpreter {
    enum Flow {
        case next
        case breakLoop(Int)
        case continueLoop(Int)
        /// `return` from a function or a sourced file.
        case returned
        /// `exit`, or a `configfile` that replaced the menu: nothing more of the script runs.
        case stop
        /// The budget of loop iterations and calls ran out: the current top-level
        /// statement is abandoned, the statements after it still run (without loops).
        case abort
    }

    /// What a menu entry's body has loaded so far.
    struct BootState {
        var kind: BootOption.Kind = .linux
        var kernel: Resource?
        var args = ""
        var initrds: [Resource] = []
        var devicetree: Resource?
        var modules: [BootModule] = []
        /// Why kexec cannot boot this entry (`chainloader`, `fwsetup`, …).
        var unbootable: String?
        /// A loader command named a file GRUB cannot open (`(uuid` without `)`, a device
        /// with no path): the entry is kept, with no kernel, and cannot be booted. The error
        /// itself is a diagnostic at the command.
        var fileError: String?
    }

    let files: any FileSource
    /// Kept here: a dictionary beats the enum's string switch, and a stored copy avoids the
    /// lazy-global check on every command.
    let builtins = GrubBuiltin.table
    let ignoredCommands = GrubBuiltin.ignored
    let identity: DeviceIdentity
    /// The value `$root` has for the filesystem being read.
    let thisDevice: String

    var diagnostics = DiagnosticSink()
    var context: GrubContext
    var allContexts: [GrubContext] = []
    var functions: [String: [GrubNode]] = [:]
    /// Positional parameters: `$1`… of the running function or entry.
    var frames: [[String]] = [[]]
    var status = 0
    /// The command running now, and where `default` and `timeout` were last set (for
    /// diagnostics about their values).
    var currentLocation: SourceLocation?
    var assignedAt: [String: SourceLocation] = [:]
    /// Set while an entry body runs.
    var boot: BootState?
    /// `loopback` devices, by name: global in GRUB, so those made at the top level are
    /// seen by every entry.
    var loopbacks: [String: Resource] = [:]

    // Limits that keep hostile input from hanging or exhausting the stack.
    static let maxSourceDepth = 16
    static let maxCallDepth = 64
    static let maxSubmenuDepth = 16
    static let topLevelBudget = 100_000
    static let entryBudget = 20_000
    static let maxLoopIterations = 10_000
    var sourceDepth = 0
    var callDepth = 0
    var submenuDepth = 0
    /// Loop iterations, function calls and sourced files still allowed.
    var budget = GrubInterpreter.topLevelBudget
    var budgetReported = false

    // What the whole parse may still spend (`ConfigLimits`). Running the config is one
    // phase, running its entries (and submenus) the other: each gets the full allowance, so
    // a config that spends it all at the top level still has its entries read.
    var stepsLeft = ConfigLimits.maxSteps
    var expansionLeft = ConfigLimits.maxExpansionBytes
    var input = InputBudget()
    var includeLimitReported = false
    /// Menu items defined so far, in every context (`ConfigLimits.maxEntries`).
    var menuItemsDefined = 0
    var kept = EntryBudget()
    /// Set when a limit of the whole parse ran out: nothing more runs in this phase.
    var exhausted = false

    init(files: any FileSource, identity: DeviceIdentity, presets: [String: String], exported: Set<String>) {
        self.files = files
        self.identity = identity
        if let uuid = identity.uuid {
            thisDevice = "uuid:\(uuid)"
        } else if let label = identity.label {
            thisDevice = "label:\(label)"
        } else if let partuuid = identity.partuuid {
            thisDevice = "partuuid:\(partuuid)"
        } else if let partlabel = identity.partlabel {
            thisDevice = "partlabel:\(partlabel)"
        } else {
            thisDevice = "kexboot"
        }
        var vars: [String: GrubVariable] = [:]
        for (name, value) in presets {
            vars[name] = GrubVariable(value: value, exported: exported.contains(name))
        }
        vars["root"] = GrubVariable(value: presets["root"] ?? thisDevice, exported: true)
        context = GrubContext(vars: vars)
        allContexts.append(context)
    }

    deinit {
        for c in allContexts { c.menu.removeAll() }
    }

    func newContext(from parent: GrubContext) -> GrubContext {
        _ = step(currentLocation, cost: Self.copyCost(parent))
        let c = parent.exportedCopy()
        allContexts.append(c)
        return c
    }

    // MARK: Running scripts

    /// Runs a script statement by statement, as GRUB does: a statement that fails to parse
    /// is reported and skipped, the rest still runs.
    @discardableResult
    func run(_ range: SourceRange) -> Flow {
        guard !exhausted else { return .stop }
        var parser = GrubParser(range)
        defer { if parser.sawNul { warn("NUL bytes in the file were ignored", at: range.file.location(line: range.line, column: range.column)) } }
        var charged = 0
        while true {
            let step = parser.next()
            guard charge(parser, &charged, range) else { return .stop }
            switch step {
            case .end:
                return .next
            case .error(let e):
                diagnostics.add(.error, e.message, at: range.file.location(line: e.line, column: e.column))
            case .statement(let node):
                switch exec(node) {
                case .next, .breakLoop, .continueLoop, .abort: continue
                case .returned: return .next
                case .stop: return .stop
                }
            }
        }
    }

    /// Parses a whole block first; `nil` (with the errors reported) when any of it fails,
    /// since GRUB refuses a menuentry whose body does not parse.
    func parseWhole(_ range: SourceRange, what: String) -> [GrubNode]? {
        guard !exhausted else { return nil }
        var parser = GrubParser(range)
        defer { if parser.sawNul { warn("NUL bytes in the file were ignored", at: range.file.location(line: range.line, column: range.column)) } }
        var nodes: [GrubNode] = []
        var failed = false
        var charged = 0
        while true {
            let step = parser.next()
            guard charge(parser, &charged, range) else { return nil }
            switch step {
            case .end:
                return failed ? nil : nodes
            case .error(let e):
                diagnostics.add(.error, "\(e.message) (\(what) left out)", at: range.file.location(line: e.line, column: e.column))
                failed = true
            case .statement(let node):
                nodes.append(node)
            }
        }
    }

    func execList(_ nodes: [GrubNode]) -> Flow {
        for node in nodes {
            let flow = exec(node)
            if case .next = flow { continue }
            return flow
        }
        return .next
    }

    /// Counts what `parser` has gone over since `charged` against
    /// `ConfigLimits.maxInputBytes`: every text parsed (each block each time it runs, each
    /// sourced file each time), and what recovery makes the parser go over again.
    func charge(_ parser: GrubParser, _ charged: inout Int, _ range: SourceRange) -> Bool {
        let work = parser.work
        defer { charged = work }
        guard !exhausted else { return false }
        if input.charge(bytes: work - charged) { return true }
        exhaust("more than \(ConfigLimits.describe(bytes: ConfigLimits.maxInputBytes)) of script parsed in all (the same text parsed again and again?); the rest is not run",
                at: range.file.location(line: parser.line, column: 1))
        return false
    }

    /// Stops this phase of the parse: a limit of the whole parse ran out.
    func exhaust(_ message: String, at location: SourceLocation?) {
        guard !exhausted else { return }
        exhausted = true
        diagnostics.add(.error, message, at: location)
    }

    /// Counts one command, loop iteration or call (or `cost` steps) against
    /// `ConfigLimits.maxSteps`.
    func step(_ location: SourceLocation?, cost: Int = 1) -> Bool {
        guard !exhausted else { return false }
        guard cost <= stepsLeft else {
            exhaust("script stopped: more than \(ConfigLimits.maxSteps) steps (commands, loop iterations, calls, copies of the variables) in all; the rest is not run", at: location)
            return false
        }
        stepsLeft -= cost
        return true
    }

    /// What copying a context's variables costs in steps: a config that sets a million
    /// variables and then defines ten thousand entries would otherwise copy ten billion.
    static func copyCost(_ context: GrubContext) -> Int {
        1 + context.vars.count / 16
    }

    func spend(_ location: SourceLocation) -> Bool {
        guard step(location) else { return false }
        if budget > 0 {
            budget -= 1
            return true
        }
        if !budgetReported {
            budgetReported = true
            diagnostics.add(.error, "script stopped: too many loop iterations or calls (an endless loop?)", at: location)
        }
        return false
    }

    func exec(_ node: GrubNode) -> Flow {
        switch node {
        case .command(let command):
            return execCommand(command)
        case .ifChain(let clauses, let otherwise, _):
            for clause in clauses {
                let flow = execList(clause.condition)
                if case .next = flow {} else { return flow }
                if status == 0 { return execList(clause.body) }
            }
            if let otherwise { return execList(otherwise) }
            status = 0
            return .next
        case .forLoop(let variable, let words, let body, let location):
            currentLocation = location
            guard let values = expandArguments(words, what: "'for'", at: location) else {
                if exhausted { return .stop }
                status = 1
                return .next
            }
            for value in values {
                guard spend(location) else { return .abort }
                setVariable(variable, value)
                switch execList(body) {
                case .next: continue
                case .breakLoop(let n): return n > 1 ? .breakLoop(n - 1) : .next
                case .continueLoop(let n): if n > 1 { return .continueLoop(n - 1) }
                case let other: return other
                }
            }
            return .next
        case .whileLoop(let condition, let body, let isUntil, let location):
            var iterations = 0
            while true {
                guard spend(location) else { return .abort }
                iterations += 1
                if iterations > Self.maxLoopIterations {
                    diagnostics.add(.error, "loop stopped after \(Self.maxLoopIterations) iterations (an endless loop?)", at: location)
                    break
                }
                let flow = execList(condition)
                if case .next = flow {} else { return flow }
                if (status == 0) == isUntil { break }
                switch execList(body) {
                case .next: continue
                case .breakLoop(let n): return n > 1 ? .breakLoop(n - 1) : .next
                case .continueLoop(let n): if n > 1 { return .continueLoop(n - 1) }
                case let other: return other
                }
            }
            status = 0
            return .next
        case .function(let name, let body, _):
            functions[name] = body
            status = 0
            return .next
        case .group(let body):
            return execList(body)
        }
    }

    func execCommand(_ command: GrubCommand) -> Flow {
        currentLocation = command.location
        guard step(command.location) else { return .stop }
        guard let argv = expandArguments(command.words, what: nil, at: command.location) else {
            if exhausted { return .stop }
            status = 1
            return .next
        }
        guard let name = argv.first else {
            status = 0
            return .next
        }
        // GRUB's own commands come first, then the config's functions (Ubuntu defines a
        // `gfxmode` function; GRUB has no such command).
        if let builtin = builtins[name] {
            return runBuiltin(builtin, argv, command)
        }
        if let body = functions[name] {
            return callFunction(name, body: body, args: Array(argv.dropFirst()), at: command.location)
        }
        if ignoredCommands.contains(name) {
            status = 0
            return .next
        }
        if let eq = name.firstIndex(of: "="), isVariableName(name[..<eq]) {
            setVariable(String(name[..<eq]), String(name[name.index(after: eq)...]))
            status = 0
            return .next
        }
        if GrubBuiltin.unbootableLoaders.contains(name) {
            if boot != nil { boot?.unbootable = "it uses '\(name)', which kexec cannot boot" }
            status = 0
            return .next
        }
        warn("unknown command '\(name)'", at: command.location)
        status = 1
        return .next
    }

    func callFunction(_ name: String, body: [GrubNode], args: [String], at location: SourceLocation) -> Flow {
        guard callDepth < Self.maxCallDepth else {
            diagnostics.add(.error, "function '\(name)' calls itself more than \(Self.maxCallDepth) deep; stopped", at: location)
            status = 1
            return .next
        }
        guard spend(location) else { return .abort }
        callDepth += 1
        frames.append(args)
        defer {
            frames.removeLast()
            callDepth -= 1
        }
        switch execList(body) {
        case .stop: return .stop
        case .abort: return .abort
        default: return .next
        }
    }

    // MARK: Variables and words

    func isVariableName<S: StringProtocol>(_ name: S) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f }
    }

    func variable(_ name: String) -> String {
        if let first = name.utf8.first, first >= 0x30 && first <= 0x39 {
            guard let n = Int(name), n >= 1, let frame = frames.last, n <= frame.count else { return "" }
            return frame[n - 1]
        }
        switch name {
        case "?": return String(status)
        case "#": return String(frames.last?.count ?? 0)
        case "*", "@": return (frames.last ?? []).joined(separator: " ")
        default: return context.vars[name]?.value ?? ""
        }
    }

    var valueLimitReported = false

    /// A variable's value or an expanded word, cut at `ConfigLimits.maxValueLength`: a
    /// config that doubles a string in a loop must not take the machine's memory.
    func capped(_ value: String) -> String {
        guard value.utf8.count > ConfigLimits.maxValueLength else { return value }
        if !valueLimitReported {
            valueLimitReported = true
            diagnostics.add(.error, "a value longer than \(ConfigLimits.maxValueLength) bytes was cut short", at: currentLocation)
        }
        return String(decoding: value.utf8.prefix(ConfigLimits.maxValueLength), as: UTF8.self)
    }

    /// A variable's value for an expansion, counted against `ConfigLimits.maxExpansionBytes`
    /// (once that has run out: nothing, and the phase stops).
    func expansion(of name: String) -> String {
        let value = variable(name)
        let size = value.utf8.count
        guard !exhausted else { return "" }
        guard size <= expansionLeft else {
            exhaust("script stopped: variables expanded to more than \(ConfigLimits.describe(bytes: ConfigLimits.maxExpansionBytes)) in all; the rest is not run",
                    at: currentLocation)
            return ""
        }
        expansionLeft -= size
        return value
    }

    /// The words of a command (or a `for` list) expanded; `nil`, reported, when together
    /// they are longer than `ConfigLimits.maxCommandLength` (or a limit of the parse ran
    /// out), and then the rest is not expanded.
    func expandArguments(_ words: [GrubWord], what: String?, at location: SourceLocation) -> [String]? {
        var argv: [String] = []
        argv.reserveCapacity(words.count)
        var length = 0
        for word in words {
            guard expand(word, into: &argv, length: &length) else {
                let name = what ?? "'\(String(decoding: (argv.first ?? "").utf8.prefix(64), as: UTF8.self))'"
                diagnostics.add(.error, "\(name): its arguments are longer than \(ConfigLimits.describe(bytes: ConfigLimits.maxCommandLength)); not run", at: location)
                return nil
            }
            if exhausted { return nil }
        }
        return argv
    }

    func setVariable(_ name: String, _ rawValue: String) {
        let value = capped(rawValue)
        if name == "default" || name == "timeout" { assignedAt[name] = currentLocation }
        if context.vars[name] != nil {
            context.vars[name]!.value = value
        } else {
            context.vars[name] = GrubVariable(value: value, exported: false)
        }
    }

    /// Expands one word into zero or more arguments: variables are substituted, and an
    /// unquoted variable's value is split into words at white space (GRUB does not split
    /// literal text, and never splits inside double quotes).
    func expand(_ word: GrubWord, into argv: inout [String]) {
        var length = 0
        expand(word, into: &argv, length: &length)
    }

    /// `expand`, adding the bytes of the arguments it makes to `length`: `false` once that
    /// is over `ConfigLimits.maxCommandLength` (it then stops, leaving `argv` incomplete).
    @discardableResult
    func expand(_ word: GrubWord, into argv: inout [String], length: inout Int) -> Bool {
        if let text = word.text {
            argv.append(text)
            length += text.utf8.count
            return length <= ConfigLimits.maxCommandLength
        }
        var current = ""
        var hasCurrent = false
        for part in word.parts {
            switch part {
            case .text(let s):
                current += s
                hasCurrent = true
            case .variable(let name, true):
                current += expansion(of: name)
                hasCurrent = true
                if current.utf8.count > ConfigLimits.maxValueLength { current = capped(current) }
            case .variable(let name, false):
                // GRUB's rule: the first piece joins the text before it, each later piece
                // (or the first, after leading blanks) starts a new word; trailing blanks
                // do not end the word.
                let value = expansion(of: name)
                var startsNew = value.utf8.first.map(Self.isBlank) ?? false
                for piece in value.utf8.split(whereSeparator: Self.isBlank) {
                    if startsNew && hasCurrent {
                        length += current.utf8.count
                        guard length <= ConfigLimits.maxCommandLength else { return false }
                        argv.append(current)
                        current = ""
                    }
                    current += String(Substring(piece))
                    hasCurrent = true
                    startsNew = true
                    if current.utf8.count > ConfigLimits.maxValueLength { current = capped(current) }
                }
            }
        }
        if hasCurrent {
            length += current.utf8.count
            guard length <= ConfigLimits.maxCommandLength else { return false }
            argv.append(current)
        }
        return true
    }

    static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }

    // MARK: Diagnostics

    func warn(_ message: String, at location: SourceLocation?) {
        diagnostics.add(.warning, message, at: location)
    }

    func info(_ message: String, at location: SourceLocation?) {
        diagnostics.add(.info, message, at: location)
    }
}
