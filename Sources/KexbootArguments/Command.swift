/// A set of declarations (`@Option`, `@Flag`, `@Argument`, `@OptionGroup`).
public protocol ParsableArguments {
    init()
    /// Checks that go beyond one value (combinations, formats); throw `ValidationError`.
    mutating func validate() throws
}

extension ParsableArguments {
    public mutating func validate() throws {}
}

/// A command: declarations, a description, subcommands, and what it does.
public protocol ParsableCommand: ParsableArguments {
    static var configuration: CommandConfiguration { get }
    mutating func run() throws
}

extension ParsableCommand {
    public static var configuration: CommandConfiguration { CommandConfiguration() }

    /// A command that only groups subcommands shows its help.
    public mutating func run() throws {
        throw CleanExit.message(Help.text(for: Self.self, path: [Self.commandName]))
    }

    static var commandName: String {
        configuration.commandName ?? ArgumentSlot.kebab(String(describing: Self.self))
    }
}

public struct CommandConfiguration: Sendable {
    public var commandName: String?
    public var abstract: String
    public var discussion: String
    public var version: String
    public var subcommands: [any ParsableCommand.Type]
    /// Hidden commands work but are left out of the help.
    public var shouldDisplay: Bool

    public init(commandName: String? = nil, abstract: String = "", discussion: String = "", version: String = "",
                subcommands: [any ParsableCommand.Type] = [], shouldDisplay: Bool = true) {
        self.commandName = commandName
        self.abstract = abstract
        self.discussion = discussion
        self.version = version
        self.subcommands = subcommands
        self.shouldDisplay = shouldDisplay
    }
}

/// A usage mistake a command finds itself (exit status 2, with the usage line).
public struct ValidationError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Leave with this status, having already said what went wrong.
public struct ExitCode: Error, Equatable {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static let success = ExitCode(0)
    public static let failure = ExitCode(1)
    public static let validationFailure = ExitCode(2)
}

/// Help or version text asked for: printed on standard output, status 0.
public enum CleanExit: Error {
    case message(String)
}

/// A usage mistake found while reading the words: what, and for which command.
public struct UsageError: Error, CustomStringConvertible {
    public var message: String
    public var usage: String
    public var description: String { "Error: \(message)\n\(usage)" }
}

/// Where a parsed command line goes: the command to run, or a message and status.
public enum ParseOutcome {
    case run(any ParsableCommand)
    case exit(status: Int32, stdout: String, stderr: String)
}

extension ParsableCommand {
    /// Reads `arguments` (without the program name) from this root command down through
    /// its subcommands, and returns the command to run with its values set, or what to
    /// print and the exit status (help and `--version`: 0; usage mistakes: 2).
    public static func parse(_ arguments: [String]) -> ParseOutcome {
        var type: any ParsableCommand.Type = Self.self
        var path = [Self.commandName]
        var words = arguments[...]
        // Subcommand names come first: `kexboot ctl config get KEY`.
        while let word = words.first, let sub = type.configuration.subcommands.first(where: { $0.commandName == word }) {
            type = sub
            path.append(word)
            words = words.dropFirst()
        }
        if words.isEmpty, !type.configuration.subcommands.isEmpty {
            return .exit(status: 0, stdout: Help.text(for: type, path: path), stderr: "")
        }
        if type == Self.self, words.first == "--version", !configuration.version.isEmpty {
            return .exit(status: 0, stdout: configuration.version + "\n", stderr: "")
        }
        do {
            return .run(try Parser.fill(type, path: path, Array(words)))
        } catch CleanExit.message(let text) {
            return .exit(status: 0, stdout: text, stderr: "")
        } catch let error as UsageError {
            return .exit(status: 2, stdout: "", stderr: error.description + "\n")
        } catch {
            return .exit(status: 2, stdout: "", stderr: "Error: \(error)\n")
        }
    }
}

enum Parser {
    /// Every slot of `value` (an arguments type), groups flattened, names assigned.
    static func slots(of value: Any) -> [ArgumentSlot] {
        var out: [ArgumentSlot] = []
        for child in Mirror(reflecting: value).children {
            if let carrier = child.value as? SlotCarrier {
                var name = child.label ?? ""
                if name.hasPrefix("_") { name.removeFirst() }
                carrier.slot.propertyName = name
                out.append(carrier.slot)
            } else if let group = child.value as? GroupCarrier {
                out += slots(of: group.group)
            }
        }
        return out
    }

    static func fill(_ type: any ParsableCommand.Type, path: [String], _ words: [String]) throws -> any ParsableCommand {
        var command = type.init()
        let all = slots(of: command)
        let usage = Help.usage(for: type, path: path, slots: all)
        func fail(_ message: String) -> UsageError { UsageError(message: message, usage: usage) }
        var byName: [String: ArgumentSlot] = [:]
        for slot in all where slot.kind != .positional {
            byName[slot.longName] = slot
            if let short = slot.shortName { byName[short] = slot }
        }
        let positionals = all.filter { $0.kind == .positional }
        var nextPositional = 0
        func takePositional(_ word: String) throws {
            guard nextPositional < positionals.count else {
                if !type.configuration.subcommands.isEmpty { throw fail("unknown command '\(word)'") }
                throw fail("unexpected argument '\(word)'")
            }
            let slot = positionals[nextPositional]
            guard slot.accept(word) else { throw fail("'\(word)' is not a valid \(slot.valueLabel)") }
            slot.wasSet = true
            if !slot.isRepeating { nextPositional += 1 }
        }
        var i = 0
        var onlyPositionals = false
        while i < words.count {
            let word = words[i]
            i += 1
            if onlyPositionals || !word.hasPrefix("-") || word == "-" {
                try takePositional(word)
                continue
            }
            if word == "--" { onlyPositionals = true; continue }
            if word == "--help" || word == "-h" {
                throw CleanExit.message(Help.text(for: type, path: path))
            }
            var name = word
            var inline: String?
            if word.hasPrefix("--"), let eq = word.firstIndex(of: "=") {
                name = String(word[..<eq])
                inline = String(word[word.index(after: eq)...])
            }
            if let slot = byName[name] {
                switch slot.kind {
                case .flag:
                    if inline != nil { throw fail("\(name) takes no value") }
                    slot.setFlag(true)
                case .option:
                    let value: String
                    if let inline {
                        value = inline
                    } else {
                        guard i < words.count else { throw fail("\(name) needs a value \(slot.valueLabel)") }
                        value = words[i]
                        i += 1
                    }
                    if slot.wasSet && !slot.isRepeating { throw fail("\(name) given twice") }
                    guard slot.accept(value) else { throw fail("'\(value)' is not a valid value for \(name)") }
                case .positional:
                    break
                }
                slot.wasSet = true
            } else if name.hasPrefix("--no-"), let slot = byName["--" + name.dropFirst(5)], slot.isInvertible, inline == nil {
                slot.setFlag(false)
                slot.wasSet = true
            } else {
                throw fail("unknown option '\(name)'")
            }
        }
        for slot in all where slot.isRequired && !slot.wasSet {
            throw fail(slot.kind == .positional ? "missing \(slot.valueLabel)" : "missing \(slot.longName) \(slot.valueLabel)")
        }
        do {
            try command.validate()
        } catch let error as ValidationError {
            throw fail(error.message)
        }
        return command
    }
}

enum Help {
    static func usage(for type: any ParsableCommand.Type, path: [String], slots: [ArgumentSlot]) -> String {
        var parts = ["Usage:", path.joined(separator: " ")]
        if !type.configuration.subcommands.isEmpty { parts.append("<command>") }
        for slot in slots where slot.kind != .positional {
            let spelled = slot.kind == .flag
                ? (slot.isInvertible ? "\(slot.longName)|--no-\(slot.longName.dropFirst(2))" : slot.longName)
                : "\(slot.longName) \(slot.valueLabel)"
            parts.append(slot.isRequired ? spelled : "[\(spelled)]" + (slot.isRepeating ? "..." : ""))
        }
        for slot in slots where slot.kind == .positional {
            let label = slot.valueLabel + (slot.isRepeating ? "..." : "")
            parts.append(slot.isRequired ? label : "[\(label)]")
        }
        return parts.joined(separator: " ")
    }

    static func text(for type: any ParsableCommand.Type, path: [String]) -> String {
        let config = type.configuration
        let slots = Parser.slots(of: type.init())
        var out = ""
        if !config.abstract.isEmpty { out += config.abstract + "\n\n" }
        out += usage(for: type, path: path, slots: slots) + "\n"
        if !config.discussion.isEmpty { out += "\n" + config.discussion + "\n" }
        func row(_ left: String, _ right: String) {
            let pad = left.count < 30 ? String(repeating: " ", count: 30 - left.count) : "\n" + String(repeating: " ", count: 32)
            out += "  " + left + pad + right + "\n"
        }
        let positionals = slots.filter { $0.kind == .positional }
        if !positionals.isEmpty {
            out += "\nArguments:\n"
            for slot in positionals { row(slot.valueLabel, slot.help?.text ?? "") }
        }
        out += "\nOptions:\n"
        for slot in slots where slot.kind != .positional {
            var left = (slot.shortName.map { $0 + ", " } ?? "") + slot.longName
            if slot.kind == .option { left += " " + slot.valueLabel }
            if slot.isInvertible { left += ", --no-" + slot.longName.dropFirst(2) }
            var right = slot.help?.text ?? ""
            if let d = slot.defaultText, slot.kind == .option, !d.isEmpty { right += " (default: \(d))" }
            row(left, right)
        }
        row("-h, --help", "Show this help.")
        if !config.version.isEmpty, path.count == 1 { row("--version", "Print the version.") }
        let shown = config.subcommands.filter { $0.configuration.shouldDisplay }
        if !shown.isEmpty {
            out += "\nCommands:\n"
            for sub in shown { row(sub.commandName, sub.configuration.abstract) }
            out += "\nSee '\(path.joined(separator: " ")) <command> --help' for a command's options.\n"
        }
        return out
    }
}
