import Foundation
import KexbootTestSupport
import Testing

/// Issue 18: the console never falls through to a root shell. /init's menu loop lives in
/// initramfs/menu-loop.sh, which /init sources; these tests source the same file and run
/// its rounds under busybox sh (the initramfs's shell), with stand-ins for the shell and
/// the pause, first with scripted menu endings, then with the real `kexboot menu` and
/// `kexboot console` against a real daemon. (A QEMU boot per case would cost about 30 s
/// each and could not make the menu crash or its input end on cue.)
@Suite(.serialized) struct InitLoopTests {
    static let loopScript = CLI.repoRoot.appendingPathComponent("initramfs/menu-loop.sh").path

    static var shell: String {
        FileManager.default.isExecutableFile(atPath: "/bin/busybox") ? "/bin/busybox sh" : "/bin/sh"
    }

    /// Runs `rounds` rounds of the loop with `body` defining start_daemon and ui; the
    /// shell and the pause only say that they ran. Returns what was printed.
    func runLoop(_ body: String, rounds: Int, in dir: String) throws -> String {
        try """
            ulimit -c 0
            . '\(Self.loopScript)'
            run_shell() { echo SHELL; }
            pause_briefly() { echo PAUSE; }
            \(body)
            i=0
            while [ $i -lt \(rounds) ]; do menu_round; i=$((i + 1)); done
            """.write(toFile: dir + "/driver.sh", atomically: true, encoding: .utf8)
        return try Shell.run("\(Self.shell) \(dir)/driver.sh")
    }

    /// What ended each round: SHELL or PAUSE, in order.
    func outcomes(_ transcript: String) -> [String] {
        transcript.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { $0 == "SHELL" || $0 == "PAUSE" }
    }

    /// `ui` ends as each word says, in turn: a number is an exit status, `segv` and `int`
    /// a death by that signal.
    @Test(arguments: [
        // The user left the menu (or the line menu) for a shell, as allowed.
        (["10"], ["menu"], "SHELL"),
        (["1", "10"], ["menu", "console"], "SHELL"),
        // The end of input, the daemon out of reach, a crash, a signal, a missing binary:
        // the menu again, never a shell.
        (["0"], ["menu"], "PAUSE"),
        (["1", "0"], ["menu", "console"], "PAUSE"),
        (["3"], ["menu"], "PAUSE"),
        (["1", "3"], ["menu", "console"], "PAUSE"),
        (["segv"], ["menu"], "PAUSE"),
        (["1", "segv"], ["menu", "console"], "PAUSE"),
        (["int"], ["menu"], "PAUSE"),
        (["127"], ["menu"], "PAUSE"),
        (["2"], ["menu"], "PAUSE"),
        (["1", "1"], ["menu", "console"], "PAUSE"),
    ])
    func onlyTheMenusOwnExitStartsAShell(_ endings: [String], _ uis: [String], _ outcome: String) throws {
        let dir = try Shell.temporaryDirectory("init-loop")
        let transcript = try runLoop("""
            endings='\(endings.joined(separator: " "))'
            next_ending() { set -- $endings; ending=$1; shift; endings="$*"; }
            start_daemon() { echo daemon; }
            ui() {
              next_ending
              echo "ui $1"
              case $ending in
                segv) sh -c 'kill -SEGV $$' ;;
                int) sh -c 'kill -INT $$' ;;
                *) return "$ending" ;;
              esac
            }
            """, rounds: 1, in: dir)
        #expect(outcomes(transcript) == [outcome], "\(transcript)")
        #expect(transcript.split(separator: "\n").filter { $0.hasPrefix("ui ") }.map { String($0.dropFirst(3)) } == uis)
        #expect(transcript.hasPrefix("daemon\n"))
    }

    /// Round after round: the daemon is started each time, and a menu that keeps failing
    /// keeps coming back (after the pause) until the user leaves it.
    @Test func theMenuComesBackUntilTheUserLeavesIt() throws {
        let dir = try Shell.temporaryDirectory("init-rounds")
        let transcript = try runLoop("""
            endings='0 3 1 0 segv 10'
            next_ending() { set -- $endings; ending=$1; shift; endings="$*"; }
            start_daemon() { echo daemon; }
            ui() { next_ending; case $ending in segv) sh -c 'kill -SEGV $$' ;; *) return "$ending" ;; esac; }
            """, rounds: 5, in: dir)
        #expect(outcomes(transcript) == ["PAUSE", "PAUSE", "PAUSE", "PAUSE", "SHELL"])
        #expect(transcript.components(separatedBy: "daemon\n").count - 1 == 5)
        #expect(transcript.contains("kexboot: the menu ended (status 139); starting it again."))
    }

    /// The real menus against a real daemon, as /init runs them on a console curses cannot
    /// drive (so the line menu runs, reading the keys given).
    @Test func theRealLineMenuLeavesForAShellOnlyAsTheSettingsAllow() throws {
        let dir = try Shell.temporaryDirectory("init-real")
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        try "settle = 0\nshell = true\n".write(toFile: "\(dir)/k.conf", atomically: true, encoding: .utf8)
        let daemon = try DaemonCLITests.DaemonProcess(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--config", "\(dir)/k.conf"])
        defer { daemon.stop() }
        func rounds(_ keys: String, _ count: Int = 1, socket: String? = nil, wait: Double = 10) throws -> String {
            try keys.write(toFile: "\(dir)/keys", atomically: true, encoding: .utf8)
            return try runLoop("""
                start_daemon() { :; }
                ui() { TERM=kexboot-no-such-terminal '\(CLI.binary)' "$@" --socket '\(socket ?? daemon.socket)' --wait \(wait) < '\(dir)/keys' 2>> '\(dir)/ui.err'; }
                """, rounds: count, in: dir)
        }
        // The end of input on the console: the menu comes back, round after round.
        let ended = try rounds("", 2)
        #expect(outcomes(ended) == ["PAUSE", "PAUSE"], "\(ended)")
        #expect(ended.contains("kexboot: the menu ended (status 0); starting it again."))
        // No daemon to talk to.
        let unreachable = try rounds("q", socket: dir + "/nobody-listens.sock", wait: 0.5)
        #expect(outcomes(unreachable) == ["PAUSE"])
        #expect(unreachable.contains("(status 3)"))
        // `q`, with the settings allowing a shell and no password set.
        let allowed = try rounds("q")
        #expect(outcomes(allowed) == ["SHELL"], "\(allowed)")
        // shell = false: `q` is refused, then the input ends.
        #expect(try daemon.ctl(["config", "set", "shell", "false"]).status == 0)
        let refused = try rounds("q")
        #expect(outcomes(refused) == ["PAUSE"], "\(refused)")
        #expect(refused.contains("turned off in the settings"))
        // A password set: root's own console asks for it, and only the right one opens.
        let hash = try Shell.run("openssl passwd -6 -salt initloop 'open sesame'").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try daemon.ctl(["config", "set", "shell", "true"]).status == 0)
        #expect(try daemon.ctl(["config", "set", "password", hash]).status == 0)
        let wrong = try rounds("qguess\n")
        #expect(outcomes(wrong) == ["PAUSE"], "\(wrong)")
        #expect(wrong.contains("Password:"))
        #expect(wrong.contains("wrong password"))
        let right = try rounds("qopen sesame\n")
        #expect(outcomes(right) == ["SHELL"], "\(right)")
    }
}
