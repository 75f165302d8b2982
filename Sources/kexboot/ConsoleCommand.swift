import KexbootArguments
import KexbootClient
import KexbootCore
import KexbootOS

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The plain console menu the initramfs runs (until the ncurses menu lands): a client of
/// the daemon that lists its options, shows the autoboot countdown, and asks the daemon to
/// boot what is chosen. It works over any serial line: plain lines, no cursor addressing.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Show the daemon's boot options on the console and boot the one chosen.",
        discussion: MenuExit.discussion
    )

    @Option(help: "The daemon's socket.")
    var socket = "/run/kexboot.sock"

    @Option(help: "Seconds to wait for the daemon to start listening.")
    var wait: Double = 10

    func run() throws {
        let client = try connect()
        try client.call("subscribe")
        var menu = ConsoleMenu()
        menu.update(try client.call("list"))
        let terminal = RawTerminal()
        defer { terminal.restore() }
        menu.draw(message: menu.entries.isEmpty ? "Looking for boot options..." : nil)
        while true {
            // Events first (some may have arrived with the last response).
            do {
                while let event = try client.nextEvent(timeout: 0) {
                    if try handle(event, menu: &menu, client: client) { menu.draw(message: menu.message) }
                }
            } catch {
                daemonGone(menu)
                return
            }
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { return }
            guard fds[0].revents != 0 else { continue }
            guard let key = terminal.readKey(timeoutMs: 0) else {
                if terminal.ended || fds[0].revents & Int16(POLLHUP | POLLNVAL) != 0 { return }
                continue
            }
            if menu.countdown != nil {
                // Any key stops the countdown; the key itself still counts.
                _ = try? client.call("cancel-autoboot")
                menu.countdown = nil
            }
            switch key {
            case .up: menu.move(-1)
            case .down: menu.move(1)
            case .quit:
                switch mayLeave(client: client, terminal: terminal, menu: &menu) {
                case .yes: throw ExitCode(MenuExit.shell)
                case .no: break
                case .daemonGone:
                    daemonGone(menu)
                    return
                }
            case .digit(let d):
                guard d >= 1 && d <= menu.entries.count else { break }
                menu.selected = d - 1
                fallthrough
            case .enter:
                guard let entry = menu.selectedEntry else { break }
                terminal.restore()
                do {
                    try client.call("boot", [("option", .string(entry.id))], timeout: 3600)
                } catch let failure as Client.Failure {
                    if failure.code == "connection" {
                        daemonGone(menu)
                        return
                    }
                    menu.message = "kexboot: cannot boot \"\(entry.title)\": \(failure.message)"
                }
                terminal.makeRaw()
            case .other:
                break
            }
            menu.draw(message: menu.message)
        }
    }

    /// The daemon closed the connection. Right after a boot started that is the kexec
    /// under way: stay quiet until the new kernel takes over. Otherwise the menu ends and
    /// /init starts the daemon again.
    func daemonGone(_ menu: ConsoleMenu) {
        if menu.kexecStarted {
            while true { pause() }
        }
        print("\r\nkexboot: the daemon went away.\r")
    }

    enum Leave { case yes, no, daemonGone }

    /// Whether `q` may leave the menu for the shell behind it, root's: not when the
    /// settings say `shell = false`, and only with the password where one is set (even
    /// for root's own menu: anyone can sit at the console). A client without full access
    /// gets it with the password first, or not at all. Settings that cannot be read keep
    /// the menu up.
    func mayLeave(client: Client, terminal: RawTerminal, menu: inout ConsoleMenu) -> Leave {
        func authenticate() -> Leave {
            guard let password = terminal.readSecret(prompt: "\r\nPassword: ") else { return .no }
            do {
                try client.call("authenticate", [("password", .string(password))])
                return .yes
            } catch let failure as Client.Failure {
                menu.message = "kexboot: \(failure.message)"
                return failure.code == "connection" ? .daemonGone : .no
            } catch {
                menu.message = "kexboot: \(error)"
                return .no
            }
        }
        var passwordGiven = false
        if client.hello["access"] != .string("full") {
            let answer = authenticate()
            guard answer == .yes else { return answer }
            passwordGiven = true
        }
        let settings: JSONValue
        do {
            settings = try client.call("config-get")
        } catch let failure as Client.Failure {
            menu.message = "kexboot: cannot leave the menu: the settings could not be read (\(failure.message))"
            return failure.code == "connection" ? .daemonGone : .no
        } catch {
            menu.message = "kexboot: cannot leave the menu: \(error)"
            return .no
        }
        guard settings["shell"] == .bool(true) else {
            menu.message = "kexboot: leaving the menu for a shell is turned off in the settings (shell = false)."
            return .no
        }
        if settings["password"] != .bool(false), !passwordGiven { return authenticate() }
        return .yes
    }

    /// The daemon may still be starting: retry for a while.
    func connect() throws -> Client {
        do {
            return try Client.connect(.unix(socket), waiting: wait)
        } catch {
            writeError("kexboot console: \(error)")
            throw ExitCode(3)
        }
    }

    /// Returns true when the menu should be drawn again.
    func handle(_ event: JSONValue, menu: inout ConsoleMenu, client: Client) throws -> Bool {
        let data = event["data"] ?? .null
        switch event["event"]?.stringValue {
        case "option-added", "option-removed", "device-removed":
            menu.update(try client.call("list"))
            return true
        case "autoboot":
            let state = data["state"]?.stringValue
            if state == "counting", let seconds = data["seconds"]?.intValue {
                menu.countdown = (data["title"]?.stringValue ?? "?", seconds)
                print("\rBooting \"\(menu.countdown!.title)\" in \(seconds) s; press a key to stop.   ", terminator: "")
                fflush(stdout)
                return false
            }
            menu.countdown = nil
            return false
        case "boot-started":
            // The daemon's own line follows; after a real boot it lets go of its clients.
            menu.countdown = nil
            menu.kexecStarted = data["dry_run"] != .bool(true)
            print("\r")
            return false
        case "boot-failed":
            menu.message = "kexboot: cannot boot \"\(data["title"]?.stringValue ?? "?")\": \(data["error"]?.stringValue ?? "?")"
            return true
        default:
            return false
        }
    }
}

/// The menu's state and how it is drawn: plain lines, fit for a serial console.
struct ConsoleMenu {
    struct Entry {
        var id: String
        var title: String
        var path: String
        var device: String
        var isDefault: Bool
    }

    var entries: [Entry] = []
    var selected = 0
    var countdown: (title: String, seconds: Int)?
    var message: String?
    /// The daemon announced a real boot: the kexec follows.
    var kexecStarted = false
    private var drawnOnce = false

    /// Takes the daemon's `list` result; keeps the selection on the same option.
    mutating func update(_ list: JSONValue) {
        let previous = selectedEntry?.id
        let defaultID = list["default"]?.stringValue
        var labels: [String: String] = [:]
        for d in list["devices"]?.arrayValue ?? [] {
            guard let id = d["id"]?.stringValue else { continue }
            labels[id] = id + (d["label"]?.stringValue.map { " \($0)" } ?? "")
        }
        entries = (list["options"]?.arrayValue ?? []).compactMap { o in
            guard let id = o["id"]?.stringValue, let device = o["device"]?.stringValue else { return nil }
            return Entry(id: id, title: o["title"]?.stringValue ?? id,
                         path: (o["path"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " > "),
                         device: labels[device] ?? device, isDefault: id == defaultID)
        }
        if let autoboot = list["autoboot"], autoboot["state"] == .string("counting"), let seconds = autoboot["seconds"]?.intValue {
            countdown = (autoboot["title"]?.stringValue ?? "?", seconds)
        }
        if let previous, let i = entries.firstIndex(where: { $0.id == previous }), drawnOnce {
            selected = i
        } else {
            selected = entries.firstIndex { $0.isDefault } ?? 0
        }
    }

    var selectedEntry: Entry? { entries.indices.contains(selected) ? entries[selected] : nil }

    mutating func move(_ delta: Int) {
        guard !entries.isEmpty else { return }
        selected = (selected + delta + entries.count) % entries.count
    }

    mutating func draw(message: String?) {
        drawnOnce = true
        var out = "\r\nkexboot \(KexbootVersion.string) boot menu\r\n"
        for (i, e) in entries.enumerated() {
            let mark = i == selected ? ">" : " "
            let star = e.isDefault ? "*" : " "
            out += "\(mark)\(star)\(i + 1)) \(e.path)   [\(e.device)]\r\n"
        }
        if let message { out += message + "\r\n" }
        out += "Up/Down or a number to choose, Enter to boot, q to leave for a shell.\r\n"
        print(out, terminator: "")
        fflush(stdout)
    }
}

/// Standard input in raw mode (when it is a terminal), read key by key; escape sequences
/// split across reads are put back together.
final class RawTerminal {
    enum Key: Equatable { case up, down, enter, digit(Int), quit, other }

    private var saved = termios()
    private let isTTY: Bool
    private var pending: [UInt8] = []

    init() {
        isTTY = isatty(0) == 1
        if isTTY { tcgetattr(0, &saved) }
        makeRaw()
    }

    func makeRaw() {
        guard isTTY else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(0, TCSANOW, &raw)
    }

    func restore() {
        if isTTY { tcsetattr(0, TCSANOW, &saved) }
    }

    private func readByte(timeoutMs: Int32) -> UInt8? {
        if !pending.isEmpty { return pending.removeFirst() }
        var fds = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        guard poll(&fds, 1, timeoutMs) > 0 else { return nil }
        var b: UInt8 = 0
        let n = read(0, &b, 1)
        if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) { ended = true }
        return n == 1 ? b : nil
    }

    /// A line typed without echo (a password), after `prompt`; `nil` when Escape or
    /// Ctrl-C cancels it or the input ends.
    func readSecret(prompt: String) -> String? {
        print(prompt, terminator: "")
        fflush(stdout)
        defer {
            print("\r")
            fflush(stdout)
        }
        var typed: [UInt8] = []
        while true {
            guard let b = readByte(timeoutMs: -1) else {
                if ended { return nil }
                continue
            }
            switch b {
            case 0x0d:
                // A terminal that sends CR LF: the LF is not a key for the menu (Enter boots).
                if let next = readByte(timeoutMs: 50), next != 0x0a { pending.append(next) }
                return String(decoding: typed, as: UTF8.self)
            case 0x0a: return String(decoding: typed, as: UTF8.self)
            case 0x1b, 0x03: return nil
            case 0x7f, 0x08: if !typed.isEmpty { typed.removeLast() }
            default: if typed.count < 1024 { typed.append(b) }
            }
        }
    }

    /// Standard input has ended (or failed): no key will ever come.
    private(set) var ended = false

    /// `nil` on timeout, or when standard input has ended.
    func readKey(timeoutMs: Int32) -> Key? {
        guard let b = readByte(timeoutMs: timeoutMs) else { return nil }
        switch b {
        case 0x0a, 0x0d: return .enter
        case 0x30...0x39: return .digit(Int(b - 0x30))
        case 0x71: return .quit
        case 0x6b: return .up
        case 0x6a: return .down
        case 0x1b:
            // ESC [ A / ESC [ B (or ESC O A): the rest may come a little later on a serial line.
            guard let b2 = readByte(timeoutMs: 100) else { return .other }
            guard b2 == 0x5b || b2 == 0x4f, let b3 = readByte(timeoutMs: 100) else { pending.append(b2); return .other }
            return b3 == 0x41 ? .up : b3 == 0x42 ? .down : .other
        default: return .other
        }
    }
}
