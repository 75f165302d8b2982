import ArgumentParser
import KexbootConfig
import KexbootCore
import KexbootDevices
import KexbootOS
import KexbootServer

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The simple console menu the initramfs runs until the daemon and ncurses menu land:
/// finds every disk's entries, counts down to the default, boots with kexec.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Find boot entries on every disk and offer them on the console (the initramfs menu)."
    )

    @Option(help: "Seconds before the default boots (default: kexboot.timeout=, then the config's).")
    var timeout: Int?

    @Flag(help: "Never boot without a key press (also kexboot.autoboot=0).")
    var noAutoboot = false

    @Flag(help: "Print the plan instead of booting.")
    var dryRun = false

    @Option(help: "The kernel command line to read kexboot.* switches from.")
    var cmdline = "/proc/cmdline"

    func run() throws {
        let switches = KernelSwitches(path: cmdline)
        let mounts = try MountSet(base: "/run/kexboot/mnt")
        let discovery = Discovery.run(mounts: mounts)
        if switches.debug { discovery.messages.forEach { print("kexboot: \($0)") } }
        var menu = ConsoleMenu(entries: discovery.entries)
        let booter = EntryBooter(mounts: mounts, filesystems: discovery.filesystems, stage: "/run/kexboot/boot")
        var countdown: Int? = timeout ?? switches.timeout ?? discovery.timeout ?? 10
        if noAutoboot || switches.autoboot == false || (countdown ?? 0) < 0 { countdown = nil }
        let terminal = RawTerminal()
        defer { terminal.restore() }
        menu.draw(message: discovery.entries.isEmpty ? "No boot entries found." : nil)
        while true {
            if let seconds = countdown, let entry = menu.defaultEntry {
                if seconds <= 0 {
                    countdown = nil
                    terminal.restore()
                    let error = booter.boot(entry, dryRun: dryRun)
                    terminal.makeRaw()
                    menu.draw(message: "kexboot: cannot boot \"\(entry.option.title)\": \(error)")
                    continue
                }
                print("\rBooting \"\(entry.option.title)\" in \(seconds) s; press a key to stop.   ", terminator: "")
                fflush(stdout)
                if let key = terminal.readKey(timeoutMs: 1000) {
                    countdown = nil
                    print("")
                    if handle(key, menu: &menu, booter: booter, terminal: terminal) { return }
                } else {
                    countdown = seconds - 1
                }
                continue
            }
            guard let key = terminal.readKey(timeoutMs: -1) else { return }
            if handle(key, menu: &menu, booter: booter, terminal: terminal) { return }
        }
    }

    /// Returns true when the menu should end (the user asked for a shell).
    private func handle(_ key: RawTerminal.Key, menu: inout ConsoleMenu, booter: EntryBooter, terminal: RawTerminal) -> Bool {
        switch key {
        case .up: menu.move(-1)
        case .down: menu.move(1)
        case .digit(let d):
            guard d >= 1 && d <= menu.entries.count else { return false }
            menu.selected = d - 1
            fallthrough
        case .enter:
            guard let entry = menu.selectedEntry else { return false }
            terminal.restore()
            let error = booter.boot(entry, dryRun: dryRun)
            terminal.makeRaw()
            menu.draw(message: "kexboot: cannot boot \"\(entry.option.title)\": \(error)")
            return false
        case .quit:
            return true
        case .other:
            break
        }
        menu.draw(message: nil)
        return false
    }
}

/// The menu's state and how it is drawn: plain lines, fit for a serial console.
struct ConsoleMenu {
    var entries: [DiscoveredEntry]
    var selected: Int

    init(entries: [DiscoveredEntry]) {
        self.entries = entries
        selected = entries.firstIndex { $0.isDefault } ?? 0
    }

    var defaultEntry: DiscoveredEntry? { entries.first { $0.isDefault } ?? entries.first }
    var selectedEntry: DiscoveredEntry? { entries.indices.contains(selected) ? entries[selected] : nil }

    mutating func move(_ delta: Int) {
        guard !entries.isEmpty else { return }
        selected = (selected + delta + entries.count) % entries.count
    }

    func draw(message: String?) {
        var out = "\r\nkexboot \(KexbootVersion.string) boot menu\r\n"
        for (i, e) in entries.enumerated() {
            let mark = i == selected ? ">" : " "
            let star = e.isDefault ? "*" : " "
            out += "\(mark)\(star)\(i + 1)) \(e.option.path.joined(separator: " > "))   [\(e.where_)]\r\n"
        }
        if let message { out += message + "\r\n" }
        out += "Up/Down or a number to choose, Enter to boot, q for a shell.\r\n"
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
        return read(0, &b, 1) == 1 ? b : nil
    }

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
