#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import KexbootClient
import KexbootCore
import KexbootOS

/// `kexboot menu`: the daemon's options in ncurses, with editing, settings, the log,
/// system information and help. A client of the daemon like any other.
public final class MenuApp {
    enum Screen {
        case main
        case text(TextScreen)
        case form(Form, purpose: Purpose)
    }

    enum Purpose {
        case edit(device: String?, title: String)
        case settings(original: [String: String])
        case url
        /// The password, then the action it unlocks.
        case password(then: Action)
    }

    enum Action {
        case boot(String), edit, new, settings, log, rescan, url, exit
    }

    let client: Client
    let terminal: Terminal
    let version: String
    var model = MenuModel()
    var screen = Screen.main
    var scroll = 0
    var authenticated: Bool
    /// Whether the daemon asks for a password before anything but booting the default.
    let restricted: Bool
    /// Boots asked for and not answered yet, by request id.
    var pendingBoots: Set<Int> = []
    var finished = false
    /// The daemon's password was given in this menu (root's menu has full access without
    /// it, but the shell behind the menu still asks for it).
    var passwordGiven = false

    /// How the menu ended.
    public enum Ending: Sendable {
        /// The user left it for a shell, and the settings (and the password) allowed it.
        case shell
        /// Its input ended, or the terminal went away.
        case inputEnded
    }

    public init(client: Client, terminal: Terminal, version: String) {
        self.client = client
        self.terminal = terminal
        self.version = version
        authenticated = client.hello["access"] == .string("full")
        restricted = !authenticated
    }

    /// Runs until the user leaves the menu (`x`), or the input ends; throws when the daemon
    /// goes away.
    public func run() throws -> Ending {
        try client.call("subscribe")
        model.update(list: try client.call("list"))
        draw()
        while !finished {
            while client.hasBuffered, let message = try client.nextMessage(timeout: 0) { try handle(message) }
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, -1)
            if n < 0 && errno != EINTR { return .inputEnded }
            if fds[1].revents != 0 {
                while let message = try client.nextMessage(timeout: 0) { try handle(message) }
            }
            // Keys (and, after a signal, the resize curses noticed).
            while let key = terminal.key(timeoutMs: 0) { try handle(key) }
            if fds[0].revents & Int16(POLLHUP | POLLNVAL) != 0 { return .inputEnded }
            draw()
        }
        return .shell
    }

    // MARK: the daemon

    func handle(_ message: JSONValue) throws {
        if message["type"] == .string("response") {
            guard let id = message["id"]?.intValue, pendingBoots.remove(id) != nil else { return }
            if message["ok"] != .bool(true) {
                model.status = ("error", "Cannot boot: \(message["error"]?["message"]?.stringValue ?? "?")")
            }
            return
        }
        if message["event"] == .string("boot-started"), message["data"]?["dry_run"] == .bool(false) {
            // The kexec follows: give the screen back to the plain console for the daemon's
            // line and the next kernel's output, and wait for the end.
            terminal.end()
            print("\r")
            while true { pause() }
        }
        if model.apply(event: message) {
            model.update(list: try client.call("list"))
        }
    }

    // MARK: keys

    func handle(_ key: Terminal.Key) throws {
        if key == .resize {
            scroll = 0
            return
        }
        switch screen {
        case .main: try mainKey(key)
        case .text(var text):
            let height = terminal.size.rows
            switch key {
            case .up: text.scroll(-1, height: height)
            case .down: text.scroll(1, height: height)
            case .pageUp: text.scroll(-(height - 3), height: height)
            case .pageDown: text.scroll(height - 3, height: height)
            case .home: text.top = 0
            case .end: text.scroll(text.body.count, height: height)
            case .escape, .char("x"), .char("q"), .enter: screen = .main; return
            default: break
            }
            screen = .text(text)
        case .form(var form, let purpose):
            switch key {
            case .escape:
                screen = .main
                return
            case .enter:
                screen = .main
                try submit(form, purpose)
                return
            case .up, .backTab: form.moveField(-1)
            case .down, .tab: form.moveField(1)
            case .left: form.moveCursor(-1)
            case .right: form.moveCursor(1)
            case .home: form.home()
            case .end: form.end()
            case .backspace: form.backspace()
            case .delete: form.delete()
            case .char(let c): form.insert(c)
            default: break
            }
            screen = .form(form, purpose: purpose)
        }
    }

    func mainKey(_ key: Terminal.Key) throws {
        if model.countdown != nil {
            // Any key stops the countdown; the key then does what it does.
            _ = try? client.call("cancel-autoboot")
            model.countdown = nil
        }
        let page = max(1, terminal.size.rows - 6)
        switch key {
        case .up, .char("k"): model.move(-1)
        case .down, .char("j"): model.move(1)
        case .pageUp: model.move(-page)
        case .pageDown: model.move(page)
        case .home: model.home()
        case .end: model.end()
        case .enter:
            guard let option = model.selected else { return }
            // Booting the default needs no password; anything else does when restricted.
            if option.id == model.defaultID { try perform(.boot(option.id)) } else { try unlock(.boot(option.id)) }
        case .char("e"): try unlock(.edit)
        case .char("n"): try unlock(.new)
        case .char("c"): try unlock(.settings)
        case .char("l"): try unlock(.log)
        case .char("r"): try unlock(.rescan)
        case .char("u"): try unlock(.url)
        case .char("i"): showInfo()
        case .char("h"), .char("?"): showHelp()
        case .char("x"), .escape: try unlock(.exit)
        default: break
        }
    }

    /// Runs `action`, first asking for the password when the daemon wants one.
    func unlock(_ action: Action) throws {
        if authenticated { return try perform(action) }
        var form = Form(title: "Password required", fields: [Form.Field("Password", "", secret: true)])
        form.keys = "Enter=unlock  Esc=cancel"
        screen = .form(form, purpose: .password(then: action))
    }

    func perform(_ action: Action) throws {
        switch action {
        case .boot(let id):
            pendingBoots.insert(try client.start("boot", [("option", .string(id))]))
            model.status = ("info", "Preparing \(model.options.first { $0.id == id }?.title ?? id)…")
        case .edit:
            guard let o = model.selected else { return }
            guard o.kind == "linux" else {
                model.status = ("error", "Only Linux entries can be edited.")
                return
            }
            screen = .form(Form(title: "Edit: \(o.title)", fields: [
                Form.Field("Kernel", o.kernel ?? ""), Form.Field("Initrds", o.initrds.joined(separator: " ")),
                Form.Field("Device tree", o.devicetree ?? ""), Form.Field("Arguments", o.args),
            ]), purpose: .edit(device: o.device, title: "\(o.title) (edited)"))
            if case .form(var f, let p) = screen {
                f.focus = 3
                f.end()
                screen = .form(f, purpose: p)
            }
        case .new:
            screen = .form(Form(title: "New entry (paths as (uuid:…)/path, (label:…)/path or on the selected device)", fields: [
                Form.Field("Kernel", ""), Form.Field("Initrds", ""), Form.Field("Device tree", ""), Form.Field("Arguments", ""),
            ]), purpose: .edit(device: model.selected?.device, title: "New entry"))
        case .settings:
            let all = try client.call("config-get")
            var values: [String: String] = [:]
            for key in ["autoboot", "timeout", "boot-order", "settle"] {
                let v = all[key] ?? .null
                values[key] = v == .null ? "" : v.stringValue ?? v.serialized(compact: true)
            }
            // The network settings of the first interface the config names (or a new one).
            let interface = all["interfaces"]?.arrayValue?.first
            values["interface"] = interface?["name"]?.stringValue ?? ""
            values["method"] = interface?["method"]?.stringValue ?? "dhcp"
            values["address"] = interface?["address"]?.stringValue ?? ""
            values["gateway"] = interface?["gateway"]?.stringValue ?? ""
            values["dns"] = (interface?["dns"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
            screen = .form(Form(title: "Settings (saved by the daemon)", fields: [
                Form.Field("autoboot", values["autoboot"]!), Form.Field("timeout", values["timeout"]!),
                Form.Field("boot-order", values["boot-order"]!), Form.Field("settle", values["settle"]!),
                Form.Field("interface", values["interface"]!), Form.Field("method", values["method"]!),
                Form.Field("address", values["address"]!), Form.Field("gateway", values["gateway"]!),
                Form.Field("dns", values["dns"]!),
            ]), purpose: .settings(original: values))
        case .log:
            let lines = (try client.call("log", [("lines", .int(1000))])["lines"]?.arrayValue ?? []).compactMap(\.stringValue)
            var text = TextScreen(title: "Log (newest last)", body: lines)
            text.scroll(lines.count, height: terminal.size.rows)
            screen = .text(text)
        case .rescan:
            model.status = ("info", "Rescanning…")
            _ = try client.start("rescan")
        case .url:
            var form = Form(title: "Retrieve a boot config from a URL", fields: [Form.Field("URL", "")])
            form.keys = "Enter=retrieve  Esc=cancel"
            screen = .form(form, purpose: .url)
        case .exit:
            // Behind the menu is root's shell: the settings may keep everyone out of it, and
            // a password, where one is set, is asked for even in root's own menu (anyone can
            // sit at the console). Settings that cannot be read keep the menu up.
            let settings: JSONValue
            do {
                settings = try client.call("config-get")
            } catch {
                model.status = ("error", "Cannot leave the menu: the settings could not be read (\(error)).")
                return
            }
            if settings["shell"] != .bool(true) {
                model.status = ("error", "Leaving the menu for a shell is turned off in the settings (shell = false).")
                return
            }
            if settings["password"] != .bool(false), !passwordGiven {
                var form = Form(title: "Password required", fields: [Form.Field("Password", "", secret: true)])
                form.keys = "Enter=unlock  Esc=cancel"
                screen = .form(form, purpose: .password(then: .exit))
                return
            }
            finished = true
        }
    }

    func submit(_ form: Form, _ purpose: Purpose) throws {
        switch purpose {
        case .edit(let device, let title):
            let kernel = form.value("Kernel").trimmingBlanks()
            guard !kernel.isEmpty else {
                model.status = ("error", "A kernel is needed.")
                return
            }
            var params: [(String, JSONValue)] = [
                ("kernel", .string(kernel)),
                ("initrds", .array(form.value("Initrds").split(separator: " ").map { .string(String($0)) })),
                ("args", .string(form.value("Arguments"))), ("title", .string(title)),
            ]
            let dtb = form.value("Device tree").trimmingBlanks()
            if !dtb.isEmpty { params.append(("dtb", .string(dtb))) }
            if let device { params.append(("device", .string(device))) }
            pendingBoots.insert(try client.start("boot", params))
            model.status = ("info", "Preparing \(title)…")
        case .settings(let original):
            let networkFields: Set<String> = ["interface", "method", "address", "gateway", "dns"]
            let name = form.value("interface").trimmingBlanks()
            let renamed = name != original["interface"]
            var changes: [(String, String)] = form.fields
                .filter { !networkFields.contains($0.label) && $0.value != original[$0.label] }
                .map { ($0.label, $0.value) }
            if !name.isEmpty {
                for field in form.fields where ["method", "address", "gateway", "dns"].contains(field.label)
                    && (field.value != original[field.label] || (renamed && !field.value.isEmpty)) {
                    changes.append(("interface.\(name).\(field.label)", field.value))
                }
            }
            for (key, value) in changes {
                do {
                    try client.call("config-set", [("key", .string(key)), ("value", .string(value))])
                    model.status = ("info", "\(key) set to \(value)")
                } catch let failure as Client.Failure {
                    model.status = ("error", failure.message)
                }
            }
        case .url:
            let url = form.value("URL").trimmingBlanks()
            guard !url.isEmpty else { return }
            // Someone may be looking over the shoulder of whoever typed a password in.
            let shown = URLText.redactingCredentials(url)
            model.status = ("info", "Retrieving \(shown)…")
            do {
                let result = try client.call("add-url", [("url", .string(url))])
                model.status = ("info", "\(result["options"]?.intValue ?? 0) options from \(shown)")
            } catch let failure as Client.Failure {
                model.status = ("error", failure.message)
            }
        case .password(let action):
            do {
                try client.call("authenticate", [("password", .string(form.value("Password")))])
                authenticated = true
                passwordGiven = true
                model.status = ("info", "Unlocked.")
                try perform(action)
            } catch let failure as Client.Failure {
                model.status = ("error", failure.message)
            }
        }
    }

    // MARK: screens

    func showInfo() {
        var body = ["kexboot \(version)", ""]
        body.append("Devices:")
        for d in model.devices {
            body.append("  \(d.heading)")
            if let config = d.config { body.append("      config \(config)") }
        }
        body.append("")
        body.append("Network:")
        let addresses = Links.addresses()
        if addresses.isEmpty { body.append("  (no addresses)") }
        for (name, address) in addresses { body.append("  \(name)  \(address)") }
        screen = .text(TextScreen(title: "System information", body: body))
    }

    func showHelp() {
        screen = .text(TextScreen(title: "Help", body: [
            "Up/Down, PgUp/PgDn, Home/End   choose an entry",
            "Enter    boot the chosen entry",
            "e        edit the entry (kernel, initrds, device tree, arguments), then boot it",
            "n        a new entry from scratch",
            "c        settings: autoboot, timeout, boot order",
            "l        the daemon's log",
            "i        devices, network addresses, version",
            "r        look for devices and configs again",
            "u        retrieve a boot config from a URL",
            "x, Esc   leave the menu (for a shell)",
            "",
            "* marks each device's default entry. Any key stops the autoboot countdown.",
            restricted ? "A password is asked for anything but booting the default." : "",
        ]))
    }

    /// The empty menu, drawn while the daemon is still starting (it has no options yet).
    public static func drawStarting(_ terminal: Terminal, version: String) {
        let (rows, cols) = terminal.size
        terminal.draw(MainScreen(version: version).lines(MenuModel(), rows: rows, cols: cols, scroll: 0, restricted: false))
    }

    func draw() {
        let (rows, cols) = terminal.size
        switch screen {
        case .main:
            scroll = MainScreen.scroll(model, listHeight: max(1, rows - 5), current: scroll)
            terminal.draw(MainScreen(version: version).lines(model, rows: rows, cols: cols, scroll: scroll, restricted: restricted && !authenticated))
        case .text(let text):
            terminal.draw(text.lines(rows: rows, cols: cols))
        case .form(let form, _):
            let (lines, cursor) = form.lines(rows: rows, cols: cols)
            terminal.draw(lines, cursor: cursor)
        }
    }
}

