import Foundation
import KexbootTestSupport
import Testing

/// Stopping the daemon: SIGTERM ends it promptly whatever it is doing, and what a SIGKILL
/// leaves (mounts, the loop devices under them) the next daemon releases.
@Suite(.serialized) struct DaemonStopTests {
    typealias Daemon = DaemonCLITests.DaemonProcess

    /// The mount points under `directory`, from the kernel's table.
    func mounts(under directory: String) -> [String] {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4].hasPrefix(directory + "/") ? String(fields[4]) : nil
        }
    }

    func loops(of image: String) throws -> String {
        try Shell.run("losetup -j '\(image)'").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test func theNextDaemonReleasesWhatAKilledOneLeftMounted() throws {
        let dir = try Shell.temporaryDirectory("daemon-sigkill")
        // A config that keeps the scan busy (and its filesystem mounted) for a moment: a
        // loop that runs until the parse's step limit.
        let slow = try DiskImage.gptExt4(in: dir, name: "slow", label: "SLOW", files: [
            "/boot/vmlinuz": "k\n",
            "/boot/grub/grub.cfg": "menuentry a { linux /boot/vmlinuz; }\nwhile true; do set x=1; done\n",
        ])
        let before = try DiskImage.sha256(slow)
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        let mnt = "\(dir)/run/mnt"
        // A real daemon killed while it scans the image (the kill may or may not land while
        // the scan has the filesystem mounted)…
        let first = try Daemon(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--image", slow])
        _ = waitUntil(30) { !mounts(under: mnt).isEmpty }
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        // …and, for certain, what such a kill leaves: a read-only mount of the partition
        // through an autoclear loop device, under the run directory.
        // (A copy of the image: mount refuses a second loop device over the same file.)
        let copy = "\(dir)/copy.img"
        try Shell.run("cp '\(slow)' '\(copy)'")
        try FileManager.default.createDirectory(atPath: "\(mnt)/slow.img1-9", withIntermediateDirectories: true)
        try Shell.run("mount -t ext4 -o ro,noload,loop,offset=\(2048 * 512) '\(copy)' '\(mnt)/slow.img1-9'")
        let left = mounts(under: mnt)
        #expect(left.contains("\(mnt)/slow.img1-9"))
        #expect(try !loops(of: copy).isEmpty)

        let plain = try DiskImage.gptExt4(in: dir, name: "plain", label: "PLAIN", files: [
            "/boot/vmlinuz": "k\n", "/boot/grub/grub.cfg": "menuentry b { linux /boot/vmlinuz; }\n",
        ])
        let second = try Daemon(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--image", plain])
        defer { second.stop() }
        try second.waitForOptions(1)
        // (Its own scan's mount goes as soon as the scan is done.)
        #expect(waitUntil(10) { mounts(under: mnt).isEmpty }, "still mounted: \(mounts(under: mnt))")
        // Autoclear detaches the loop devices once their mounts are gone.
        #expect(try waitUntil(10) { try loops(of: slow).isEmpty && loops(of: copy).isEmpty }, "an image is still attached")
        let log = try second.ctl(["log"])
        #expect(log.stdout.contains("mount\(left.count == 1 ? "" : "s") a previous daemon left under \(mnt): "))
        #expect(log.stdout.contains("\(mnt)/slow.img1-9"))
        #expect(try DiskImage.sha256(slow) == before)

        // One daemon per run directory: another one while this one runs is refused.
        let third = try CLI.run(["daemon", "--socket", "\(dir)/other.sock", "--run-dir", "\(dir)/run", "--cmdline", "\(dir)/cmdline",
                                 "--no-network", "--image", plain])
        #expect(third.status != 0)
        #expect(third.stderr.contains("another kexboot daemon uses \(dir)/run"))
    }

    @Test func sigtermDuringAFetchEndsTheDaemonPromptly() throws {
        let dir = try Shell.temporaryDirectory("daemon-sigterm")
        let root = "\(dir)/www"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // A kernel that arrives a byte every half second: above any stall limit, never done.
        try "entry slow\n  kernel /_trickle\n".write(toFile: "\(root)/kexboot.conf", atomically: true, encoding: .utf8)
        let http = try TestServer.http(root: root)
        defer { http.stop() }
        try "".write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        // An image, so that the daemon does not scan this machine's disks.
        let empty = try DiskImage.gptExt4(in: dir, name: "empty", label: "EMPTY", files: ["/readme": "nothing to boot\n"])
        let daemon = try Daemon(dir: dir, arguments: ["--dry-run", "--no-autoboot", "--image", empty])
        defer { if daemon.process.isRunning { kill(daemon.process.processIdentifier, SIGKILL) } }
        try #require(waitUntil(30) { FileManager.default.fileExists(atPath: daemon.socket) }, "the daemon never listened")
        let added = try daemon.ctl(["add-url", "http://127.0.0.1:\(http.port)/kexboot.conf"])
        #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        try daemon.waitForOptions(1)
        let list = try daemon.ctl(["list"])
        let id = try #require(list.stdout.split(separator: "\n").first { $0.contains("slow") }?.split(separator: " ").first { $0.contains("#") })

        let boot = Process()
        boot.executableURL = URL(fileURLWithPath: CLI.binary)
        boot.arguments = ["ctl", "--socket", daemon.socket, "boot", String(id)]
        boot.standardOutput = FileHandle.nullDevice
        boot.standardError = FileHandle.nullDevice
        try boot.run()
        defer { if boot.isRunning { boot.terminate() } }
        let staged = "\(dir)/run/boot/kernel"
        #expect(waitUntil(30) { FileManager.default.fileExists(atPath: staged) }, "the fetch never started")

        // The fetch would run until its deadline (600 s by default); SIGTERM ends it.
        daemon.process.terminate()
        let exited = waitUntil(30) { !daemon.process.isRunning }
        #expect(exited, "the daemon was still running 30 s after SIGTERM")
        #expect(!FileManager.default.fileExists(atPath: staged), "the partial kernel was left staged")
    }
}
