import Foundation
import KexbootTestSupport
import Testing

/// `kexboot daemon` and `kexboot ctl` as processes, as a user runs them.
@Suite(.serialized) struct DaemonCLITests {
    final class DaemonProcess: @unchecked Sendable {
        let process = Process()
        let socket: String
        let stdoutPath: String

        init(dir: String, arguments: [String]) throws {
            socket = "\(dir)/s.sock"
            stdoutPath = "\(dir)/daemon.out"
            FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["daemon", "--socket", socket, "--run-dir", "\(dir)/run", "--cmdline", "\(dir)/cmdline"] + arguments
                + (arguments.contains("--network") ? [] : ["--no-network"])
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        func ctl(_ arguments: [String]) throws -> CLI.Result {
            try CLI.run(["ctl", "--socket", socket] + arguments)
        }

        /// Waits until `ctl list` shows at least `count` options.
        func waitForOptions(_ count: Int) throws {
            for _ in 0..<300 {
                let r = try ctl(["list", "--json"])
                if r.status == 0, let text = Optional(r.stdout), text.components(separatedBy: "\"default\": ").count > count { return }
                usleep(100_000)
            }
            throw Shell.Failure(description: "the daemon never listed \(count) options")
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func image(_ dir: String) throws -> String {
        try DiskImage.gptExt4(in: dir, name: "disk", label: "CLIBOOT", files: [
            "/boot/vmlinuz": "k\n", "/boot/initrd.img": "i\n",
            "/boot/grub/grub.cfg": DiskImage.grubConfig(default: 0, entries: [("Plain", "root=/dev/plain"), ("Quiet", "root=/dev/quiet quiet")]),
        ])
    }

    @Test func ctlListsBootsAndReportsErrorsWithExitCodes() throws {
        let dir = try Shell.temporaryDirectory("cli-daemon")
        let disk = try image(dir)
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--image", disk])
        defer { daemon.stop() }
        try daemon.waitForOptions(2)

        let list = try daemon.ctl(["list"])
        #expect(list.status == 0)
        #expect(list.stdout.contains("label CLIBOOT"))
        #expect(list.stdout.contains("* disk.img:1#0"))
        #expect(list.stdout.contains("Quiet"))
        let id = try #require(list.stdout.split(separator: "\n").first { $0.contains("Quiet") }?.split(separator: " ").first { $0.contains("#") })

        let boot = try daemon.ctl(["boot", String(id)])
        #expect(boot.status == 0)
        #expect(boot.stdout.contains("would boot \"Quiet\""))
        #expect(boot.stdout.contains("args    root=/dev/quiet quiet"))
        // The daemon's console line, as a real boot prints it.
        let announced = try String(contentsOfFile: daemon.stdoutPath, encoding: .utf8)
        #expect(announced.contains("kexboot: booting \"Quiet\"\n"))

        #expect(try daemon.ctl(["boot", "nothing#9"]).status == 5)
        #expect(try daemon.ctl(["config", "get", "no-such-key"]).status == 5)
        #expect(try daemon.ctl(["config", "set", "timeout", "soon"]).status == 1)
        #expect(try daemon.ctl(["add-url", "http://example.invalid/x.cfg"]).status == 1)
        let status = try daemon.ctl(["--json", "status"])
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"dry_run\": true"))
        let cancel = try daemon.ctl(["cancel"])
        #expect(cancel.status == 0)
        #expect(cancel.stdout.contains("no autoboot was pending"))
    }

    @Test func ctlEventsStreamsUntilTheNamedEvent() throws {
        let dir = try Shell.temporaryDirectory("cli-events")
        let disk = try image(dir)
        try "kexboot.timeout=1".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        try "settle = 0\n".write(toFile: "\(dir)/k.conf", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(dir: dir, arguments: ["--dry-run", "--config", "\(dir)/k.conf"])
        defer { daemon.stop() }
        var tries = 0
        while !FileManager.default.fileExists(atPath: daemon.socket) && tries < 100 { usleep(50_000); tries += 1 }
        // Attached after subscribing, so every event of the countdown is seen.
        let attach = DispatchQueue.global()
        attach.asyncAfter(deadline: .now() + 1) { _ = try? daemon.ctl(["attach", disk]) }
        let events = try daemon.ctl(["events", "--until", "boot-started", "--timeout", "60"])
        #expect(events.status == 0)
        let names = events.stdout.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }
        #expect(names.contains("device-added"))
        #expect(names.contains("option-added"))
        #expect(names.contains("autoboot"))
        #expect(names.last == "boot-started")
        #expect(events.stdout.contains("\"title\":\"Plain\""))
    }

    @Test func theConsoleEndsWhenItsInputEnds() throws {
        let dir = try Shell.temporaryDirectory("cli-console")
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--image", "/dev/null"])
        defer { daemon.stop() }
        // `timeout` turns a console that spins on end-of-file into exit 124.
        let r = try CLI.run(["-c", "timeout 20 \(CLI.binary) console --socket \(daemon.socket) < /dev/null > /dev/null; echo $?"], executable: "/bin/sh")
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func ctlConnectsOverTCPWithAToken() throws {
        let dir = try Shell.temporaryDirectory("cli-tcp")
        let disk = try image(dir)
        let port = 20_000 + Int(getpid() % 20_000)
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        try "token = tcp-token-for-the-test\n".write(toFile: "\(dir)/k.conf", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--image", disk, "--config", "\(dir)/k.conf",
                                                             "--listen", "127.0.0.1:\(port)"])
        defer { daemon.stop() }
        try daemon.waitForOptions(2)
        let good = try CLI.run(["ctl", "--connect", "127.0.0.1:\(port)", "--token", "tcp-token-for-the-test", "list"])
        #expect(good.status == 0)
        #expect(good.stdout.contains("Quiet"))
        let bad = try CLI.run(["ctl", "--connect", "127.0.0.1:\(port)", "--token", "not-the-token", "list"])
        #expect(bad.status == 4)
        let none = try CLI.run(["ctl", "--connect", "127.0.0.1:\(port)", "list"])
        #expect(none.status == 4)
    }

    @Test func ctlWithoutADaemonSaysSoAndExits3() throws {
        let r = try CLI.run(["ctl", "--socket", "/nonexistent/kexboot.sock", "list"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("/nonexistent/kexboot.sock"))
    }

    @Test func aSecondDaemonOnTheSameSocketIsRefused() throws {
        let dir = try Shell.temporaryDirectory("cli-twice")
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        let first = try DaemonProcess(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--image", "/dev/null"])
        defer { first.stop() }
        var tries = 0
        while try first.ctl(["status"]).status != 0 && tries < 100 { usleep(50_000); tries += 1 }
        let second = try CLI.run(["daemon", "--socket", first.socket, "--run-dir", "\(dir)/run2", "--image", "/dev/null"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("another daemon is listening"))
        #expect(try first.ctl(["status"]).status == 0)
    }
}
