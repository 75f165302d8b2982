// The command-line declarations kexboot's commands use: `@Option`, `@Flag`, `@Argument`,
// `@OptionGroup` on a `ParsableCommand`, in the spelling swift-argument-parser made
// familiar. Written here because that package pulls FoundationEssentials (7 MB) into a
// binary that has to fit an initramfs; this one needs nothing but the standard library.
//
// Each wrapper keeps its value in a small class, so the parser can fill a command found
// through `Mirror` (wrappers are stored as `_name`) without knowing its type.

/// A value that can be read from one command-line word.
public protocol ExpressibleByArgument {
    init?(argument: String)
}

/// An enum of names (`enum Mode: String { case auto, file }`) reads its raw values.
extension ExpressibleByArgument where Self: RawRepresentable, RawValue == String {
    public init?(argument: String) { self.init(rawValue: argument) }
}

extension String: ExpressibleByArgument {
    public init?(argument: String) { self = argument }
}

extension Int: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

extension Int32: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

extension UInt16: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

extension Double: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = Double(argument), value.isFinite else { return nil }
        self = value
    }
}

/// How an option is spelled: `--long-name` from the property, a custom long name, or
/// also `-x` from the property's first letter.
public enum NameSpecification: Sendable {
    case long
    case shortAndLong
    case customLong(String)
}

/// `--flag` / `--no-flag` for a flag whose absence means "decide later".
public enum FlagInversion: Sendable {
    case prefixedNo
}

/// Help text for one argument, with an optional name for its value (`<KEY=VALUE>`).
public struct ArgumentHelp: ExpressibleByStringLiteral, Sendable {
    public var text: String
    public var valueName: String?

    public init(_ text: String, valueName: String? = nil) {
        self.text = text
        self.valueName = valueName
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }
}

/// What the parser knows about one declared argument, and how to store into it.
public final class ArgumentSlot {
    public enum Kind { case option, flag, positional }

    let kind: Kind
    let nameSpec: NameSpecification
    let help: ArgumentHelp?
    let isRequired: Bool
    let isRepeating: Bool
    let isInvertible: Bool
    let defaultText: String?
    /// Stores one word (options, positionals); throws a message when it does not convert.
    let accept: (String) -> Bool
    /// Sets a flag.
    let setFlag: (Bool) -> Void
    var wasSet = false
    /// The property's name without the wrapper's underscore; set when the command is read.
    var propertyName = ""

    init(kind: Kind, nameSpec: NameSpecification, help: ArgumentHelp?, isRequired: Bool, isRepeating: Bool,
         isInvertible: Bool = false, defaultText: String? = nil,
         accept: @escaping (String) -> Bool = { _ in false }, setFlag: @escaping (Bool) -> Void = { _ in }) {
        self.kind = kind
        self.nameSpec = nameSpec
        self.help = help
        self.isRequired = isRequired
        self.isRepeating = isRepeating
        self.isInvertible = isInvertible
        self.defaultText = defaultText
        self.accept = accept
        self.setFlag = setFlag
    }

    /// `--dry-run` for `dryRun`, or the custom name.
    var longName: String {
        if case .customLong(let name) = nameSpec { return "--" + name }
        return "--" + Self.kebab(propertyName)
    }

    var shortName: String? {
        guard case .shortAndLong = nameSpec, let first = propertyName.first else { return nil }
        return "-" + String(first)
    }

    /// `<kernel>`, `<key=value>`: how the value appears in help and errors.
    var valueLabel: String {
        if let name = help?.valueName { return "<\(name)>" }
        if case .customLong(let name) = nameSpec { return "<\(name)>" }
        return "<" + Self.kebab(propertyName) + ">"
    }

    static func kebab(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for c in name {
            if c.isUppercase {
                if previousLower { out.append("-") }
                out.append(contentsOf: c.lowercased())
                previousLower = false
            } else {
                out.append(c)
                previousLower = c.isLowercase || c.isNumber
            }
        }
        return out
    }
}

/// Anything `Mirror` finds on a command that the parser fills.
protocol SlotCarrier {
    var slot: ArgumentSlot { get }
}

/// An `@OptionGroup`: its own declarations count as the command's.
protocol GroupCarrier {
    var group: Any { get }
}

/// The storage a wrapper shares with its copies.
final class Box<Value> {
    var value: Value?
    init(_ value: Value?) { self.value = value }
}

/// A slot's `accept`: converts one word and hands the value on; false when it does not
/// convert.
func converting<T: ExpressibleByArgument>(_ store: @escaping (T) -> Void) -> (String) -> Bool {
    { word in
        guard let value = T(argument: word) else { return false }
        store(value)
        return true
    }
}

/// `--name VALUE` (also `--name=VALUE`); repeatable when the property is an array.
@propertyWrapper
public struct Option<Value>: SlotCarrier {
    let box: Box<Value>
    public let slot: ArgumentSlot

    public var wrappedValue: Value {
        get {
            guard let value = box.value else { preconditionFailure("\(slot.longName) read before parsing") }
            return value
        }
        nonmutating set { box.value = newValue }
    }
}

extension Option where Value: ExpressibleByArgument {
    public init(wrappedValue: Value, name: NameSpecification = .long, help: ArgumentHelp? = nil) {
        let box = Box<Value>(wrappedValue)
        self.box = box
        slot = ArgumentSlot(kind: .option, nameSpec: name, help: help, isRequired: false, isRepeating: false,
                            defaultText: "\(wrappedValue)",
                            accept: converting { (value: Value) in box.value = value })
    }

    public init(name: NameSpecification = .long, help: ArgumentHelp? = nil) {
        let box = Box<Value>(nil)
        self.box = box
        slot = ArgumentSlot(kind: .option, nameSpec: name, help: help, isRequired: true, isRepeating: false,
                            accept: converting { (value: Value) in box.value = value })
    }
}

extension Option {
    public init<Wrapped: ExpressibleByArgument>(name: NameSpecification = .long, help: ArgumentHelp? = nil) where Value == Wrapped? {
        let box = Box<Value>(.some(nil))
        self.box = box
        slot = ArgumentSlot(kind: .option, nameSpec: name, help: help, isRequired: false, isRepeating: false,
                            accept: converting { (value: Wrapped) in box.value = .some(value) })
    }

    public init<Element: ExpressibleByArgument>(wrappedValue: [Element], name: NameSpecification = .long, help: ArgumentHelp? = nil) where Value == [Element] {
        let box = Box<Value>(wrappedValue)
        var first = true
        self.box = box
        slot = ArgumentSlot(kind: .option, nameSpec: name, help: help, isRequired: false, isRepeating: true,
                            // Values given replace the default rather than adding to it.
                            accept: converting { (value: Element) in
                                if first { box.value = []; first = false }
                                box.value!.append(value)
                            })
    }
}

/// `--name` (true when present), or with `inversion: .prefixedNo` also `--no-name`, the
/// property staying nil when neither is given.
@propertyWrapper
public struct Flag<Value>: SlotCarrier {
    let box: Box<Value>
    public let slot: ArgumentSlot

    public var wrappedValue: Value {
        get { box.value! }
        nonmutating set { box.value = newValue }
    }
}

extension Flag where Value == Bool {
    public init(wrappedValue: Bool = false, name: NameSpecification = .long, help: ArgumentHelp? = nil) {
        let box = Box<Bool>(wrappedValue)
        self.box = box
        slot = ArgumentSlot(kind: .flag, nameSpec: name, help: help, isRequired: false, isRepeating: false,
                            setFlag: { box.value = $0 })
    }
}

extension Flag where Value == Bool? {
    public init(name: NameSpecification = .long, inversion: FlagInversion, help: ArgumentHelp? = nil) {
        let box = Box<Bool?>(.some(nil))
        self.box = box
        slot = ArgumentSlot(kind: .flag, nameSpec: name, help: help, isRequired: false, isRepeating: false,
                            isInvertible: true, setFlag: { box.value = .some($0) })
    }
}

/// A positional word; an array takes all the remaining ones (at least one).
@propertyWrapper
public struct Argument<Value>: SlotCarrier {
    let box: Box<Value>
    public let slot: ArgumentSlot

    public var wrappedValue: Value {
        get {
            guard let value = box.value else { preconditionFailure("\(slot.valueLabel) read before parsing") }
            return value
        }
        nonmutating set { box.value = newValue }
    }
}

extension Argument where Value: ExpressibleByArgument {
    public init() { self.init(help: nil) }

    public init(help: ArgumentHelp?) {
        let box = Box<Value>(nil)
        self.box = box
        slot = ArgumentSlot(kind: .positional, nameSpec: .long, help: help, isRequired: true, isRepeating: false,
                            accept: converting { (value: Value) in box.value = value })
    }
}

extension Argument {
    public init<Wrapped: ExpressibleByArgument>() where Value == Wrapped? { self.init(help: nil) }

    public init<Wrapped: ExpressibleByArgument>(help: ArgumentHelp?) where Value == Wrapped? {
        let box = Box<Value>(.some(nil))
        self.box = box
        slot = ArgumentSlot(kind: .positional, nameSpec: .long, help: help, isRequired: false, isRepeating: false,
                            accept: converting { (value: Wrapped) in box.value = .some(value) })
    }

    public init<Element: ExpressibleByArgument>(help: ArgumentHelp? = nil) where Value == [Element] {
        let box = Box<Value>([])
        self.box = box
        slot = ArgumentSlot(kind: .positional, nameSpec: .long, help: help, isRequired: true, isRepeating: true,
                            accept: converting { (value: Element) in box.value!.append(value) })
    }
}

/// Another type's declarations, shared by several commands (e.g. connection options).
@propertyWrapper
public struct OptionGroup<Value: ParsableArguments>: GroupCarrier {
    public var wrappedValue: Value

    public init() {
        wrappedValue = Value()
    }

    var group: Any { wrappedValue }
}
