import Foundation
import KexbootTestSupport
import Testing

/// `kexboot menu` in a real terminal (tmux) against a dry-run daemon with real images.
@Suite(.serialized) struct MenuTmuxTests {
    final class Session {
        let server: String
        let dir: String

        init(dir: String, command: String, cols: Int = 80, rows: Int = 24) throws {
            self.dir = dir
            server = "kx-\(UUID().uuidString.prefix(8))"
            try tmux("new-session -d -s menu -x \(cols) -y \(rows) 'TERM=xterm \(command); sleep 30'")
        }

        /// tmux through system(3), not Foundation's Process: the tmux server the first
        /// command forks keeps the descriptors Process watches for the child's exit, so
        /// Process would wait for the server to end.
        @discardableResult
        func tmux(_ arguments: String) throws -> String {
            let out = "\(dir)/tmux.out"
            let status = system("tmux -L \(server) \(arguments) > \(out) 2>&1 < /dev/null")
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            guard status == 0 else { throw Shell.Failure(description: "tmux \(arguments) failed: \(text)") }
            return text
        }

        func screen() throws -> String { try tmux("capture-pane -p -t menu") }

        func keys(_ keys: String...) throws {
            for k in keys { try tmux("send-keys -t menu \(k)") }
        }

        func type(_ text: String) throws { try tmux("send-keys -t menu -l '\(text)'") }

        func resize(cols: Int, rows: Int) throws {
            try tmux("resize-window -t menu -x \(cols) -y \(rows)")
        }

        /// Waits until the screen shows `text`; returns the screen.
        @discardableResult
        func waitFor(_ text: String, timeout: Double = 20) throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            var last = ""
            while Date() < deadline {
                last = try screen()
                if last.contains(text) { return last }
                usleep(100_000)
            }
            throw Shell.Failure(description: "the screen never showed \(text.debugDescription):\n\(last)")
        }

        func close() { _ = try? tmux("kill-server") }
    }

    func image(_ dir: String, _ name: String, label: String, entries: [(String, String)]) throws -> String {
        try DiskImage.gptExt4(in: dir, name: name, label: label, files: [
            "/boot/vmlinuz": "kernel", "/boot/initrd.img": "initrd",
            "/boot/grub/grub.cfg": DiskImage.grubConfig(default: 0, entries: entries),
        ])
    }

    func startDaemon(_ dir: String, images: [String], config: String = "", autoboot: Bool = false) throws -> DaemonCLITests.DaemonProcess {
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        try ("settle = 0\n" + config).write(toFile: "\(dir)/k.conf", atomically: true, encoding: .utf8)
        var args = ["--dry-run", "--config", "\(dir)/k.conf"] + images.flatMap { ["--image", $0] }
        if !autoboot { args.append("--no-autoboot") }
        return try DaemonCLITests.DaemonProcess(dir: dir, arguments: args)
    }

    /// A dry-run daemon with `images`, once it lists `options` options, and the menu on it.
    func startMenu(_ dir: String, images: [String], config: String = "", options: Int) throws -> (DaemonCLITests.DaemonProcess, Session) {
        let daemon = try startDaemon(dir, images: images, config: config)
        do {
            try daemon.waitForOptions(options)
            return (daemon, try Session(dir: dir, command: "\(CLI.binary) menu --socket \(daemon.socket)"))
        } catch {
            daemon.stop()
            throw error
        }
    }

    func announced(_ daemon: DaemonCLITests.DaemonProcess, _ text: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let out = try String(contentsOfFile: daemon.stdoutPath, encoding: .utf8)
            if out.contains(text) { return out }
            usleep(100_000)
        }
        throw Shell.Failure(description: "the daemon never printed \(text)")
    }

    @Test func devicesGroupTheirOptionsAndKeysBootTheChosenOne() throws {
        let dir = try Shell.temporaryDirectory("menu-basic")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("Alpha one", "a=1"), ("Alpha two", "a=2")])
        let b = try image(dir, "beta", label: "BETA", entries: [("Beta ünïcode ✓", "b=1")])
        let (daemon, s) = try startMenu(dir, images: [a, b], options: 3)
        defer { s.close(); daemon.stop() }
        let screen = try s.waitFor("Beta ünïcode ✓")
        #expect(screen.contains("alpha.img:1 · ALPHA"))
        #expect(screen.contains("beta.img:1 · BETA"))
        #expect(screen.contains("  * Alpha one"))
        #expect(screen.contains("Enter=boot"))
        // Down twice: past "Alpha two" to Beta's entry (the heading is skipped).
        try s.keys("Down", "Down", "Enter")
        #expect(try announced(daemon, "kexboot: booting \"Beta ünïcode ✓\"").contains("\"cmdline\":\"b=1\""))
    }

    @Test func editedArgumentsReachThePlan() throws {
        let dir = try Shell.temporaryDirectory("menu-edit")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("Alpha one", "ro quiet")])
        let (daemon, s) = try startMenu(dir, images: [a], options: 1)
        defer { s.close(); daemon.stop() }
        try s.waitFor("Alpha one")
        try s.keys("e")
        let form = try s.waitFor("Edit: Alpha one")
        #expect(form.contains("Arguments:   ro quiet"))
        try s.type(" single")
        try s.keys("Enter")
        let out = try announced(daemon, "kexboot: booting \"Alpha one (edited)\"")
        #expect(out.contains("\"cmdline\":\"ro quiet single\""))
    }

    @Test func anImageAttachedWhileTheMenuIsOpenAppearsWithoutAKey() throws {
        let dir = try Shell.temporaryDirectory("menu-live")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("Alpha one", "a")])
        let late = try image(dir, "late", label: "LATE", entries: [("Late arrival", "l")])
        let (daemon, s) = try startMenu(dir, images: [a], options: 1)
        defer { s.close(); daemon.stop() }
        try s.waitFor("Alpha one")
        #expect(try daemon.ctl(["attach", late]).status == 0)
        let screen = try s.waitFor("Late arrival")
        #expect(screen.contains("late.img:1 · LATE"))
    }

    @Test func anEscapeSequenceSplitAcrossReadsIsOneKey() throws {
        let dir = try Shell.temporaryDirectory("menu-split")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("First", "n=1"), ("Second", "n=2")])
        let (daemon, s) = try startMenu(dir, images: [a], options: 2)
        defer { s.close(); daemon.stop() }
        try s.waitFor("Second")
        // ESC, then "[B" a moment later, as a slow serial line delivers Down: one key,
        // not Esc (which would leave the menu) followed by "[" and "B".
        try s.keys("Escape")
        usleep(60_000)
        try s.type("[B")
        usleep(400_000)
        try s.keys("Enter")
        #expect(try announced(daemon, "kexboot: booting \"Second\"").contains("\"cmdline\":\"n=2\""))
    }

    @Test func settingsAreSavedThroughTheDaemon() throws {
        let dir = try Shell.temporaryDirectory("menu-settings")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("Alpha one", "a")])
        let (daemon, s) = try startMenu(dir, images: [a], options: 1)
        defer { s.close(); daemon.stop() }
        try s.waitFor("Alpha one")
        try s.keys("c")
        try s.waitFor("Settings (saved by the daemon)")
        // timeout is the second field; the interface name the fifth, its method the sixth.
        try s.keys("Down")
        try s.type("7")
        try s.keys("Down", "Down", "Down")
        try s.type("eth0")
        try s.keys("Down", "End", "BSpace", "BSpace", "BSpace", "BSpace")
        try s.type("static")
        try s.keys("Enter")
        try s.waitFor("set to static")
        let text = try String(contentsOfFile: "\(dir)/k.conf", encoding: .utf8)
        #expect(text.contains("timeout = 7\n"))
        #expect(text.contains("[interface eth0]\nmethod = static\n"))
    }

    @Test func leavingForAShellObeysTheSettings() throws {
        let dir = try Shell.temporaryDirectory("menu-shell")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("Alpha one", "a")])
        let daemon = try startDaemon(dir, images: [a], config: "shell = false\n")
        defer { daemon.stop() }
        try daemon.waitForOptions(1)
        let s = try Session(dir: dir, command: "\(CLI.binary) menu --socket \(daemon.socket); echo MENU-ENDED $?")
        defer { s.close() }
        try s.waitFor("Alpha one")
        try s.keys("x")
        let screen = try s.waitFor("turned off in the settings")
        #expect(!screen.contains("MENU-ENDED"))
        #expect(try daemon.ctl(["config", "set", "shell", "true"]).status == 0)
        try s.keys("x")
        // 10: what /init starts a shell for (initramfs/menu-loop.sh).
        try s.waitFor("MENU-ENDED 10")
    }

    /// Issue 18: the console's menu runs as root, which has full access without a
    /// password; the shell behind it still asks for the password where one is set.
    @Test func aSetPasswordIsAskedBeforeTheShellEvenInRootsMenu() throws {
        let dir = try Shell.temporaryDirectory("menu-shell-password")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("Alpha one", "a")])
        let hash = try Shell.run("openssl passwd -6 -salt menushell 'let me in'").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try startDaemon(dir, images: [a], config: "password = \(hash)\n")
        defer { daemon.stop() }
        try daemon.waitForOptions(1)
        let s = try Session(dir: dir, command: "\(CLI.binary) menu --socket \(daemon.socket); echo MENU-ENDED $?")
        defer { s.close() }
        try s.waitFor("Alpha one")
        try s.keys("x")
        try s.waitFor("Password required")
        try s.type("guess")
        try s.keys("Enter")
        let refused = try s.waitFor("wrong password")
        #expect(!refused.contains("MENU-ENDED"))
        try s.keys("x")
        try s.waitFor("Password required")
        try s.type("let me in")
        try s.keys("Enter")
        try s.waitFor("MENU-ENDED 10")
    }

    @Test func theLayoutSurvivesResizing() throws {
        let dir = try Shell.temporaryDirectory("menu-resize")
        let a = try image(dir, "alpha", label: "ALPHA", entries: (1...30).map { ("Entry number \($0) with a rather long title to cut", "n=\($0)") })
        let (daemon, s) = try startMenu(dir, images: [a], options: 30)
        defer { s.close(); daemon.stop() }
        try s.waitFor("Entry number 1 ")
        for (cols, rows) in [(60, 20), (200, 60), (80, 24)] {
            try s.resize(cols: cols, rows: rows)
            usleep(500_000)
            try s.keys("End")
            let screen = try s.waitFor("Entry number 30")
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first?.hasPrefix("kexboot") == true)
            #expect(lines.allSatisfy { $0.count <= cols })
            #expect(lines.contains { $0.hasPrefix("Enter=boot") })
            try s.keys("Home")
            try s.waitFor("Entry number 1 ")
        }
    }

    @Test func aPasswordIsAskedBeforeEditingAndOnlyTheRightOneOpensIt() throws {
        let dir = try Shell.temporaryDirectory("menu-password")
        try Shell.run("chmod 755 \(dir) && cp \(CLI.binary) \(dir)/kexboot && chmod 755 \(dir)/kexboot")
        let a = try image(dir, "alpha", label: "ALPHA", entries: [("Alpha one", "ro")])
        let hash = try Shell.run("openssl passwd -6 -salt menutest 'let me in'").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try startDaemon(dir, images: [a], config: "socket-group = 65534\npassword = \(hash)\n")
        defer { daemon.stop() }
        try daemon.waitForOptions(1)
        let s = try Session(dir: dir, command: "setpriv --reuid=65534 --regid=65534 --clear-groups \(dir)/kexboot menu --socket \(daemon.socket)")
        defer { s.close() }
        #expect(try s.waitFor("Alpha one").contains("(restricted)"))
        try s.keys("e")
        try s.waitFor("Password required")
        try s.type("guess")
        try s.keys("Enter")
        let refused = try s.waitFor("wrong password")
        #expect(!refused.contains("Edit:"))
        try s.keys("e")
        try s.waitFor("Password required")
        try s.type("let me in")
        try s.keys("Enter")
        try s.waitFor("Edit: Alpha one")
    }
}
