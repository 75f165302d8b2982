import Foundation
import KexbootClient
import KexbootCore
import KexbootOS
import KexbootProtocol
import KexbootServer
import KexbootTestSupport
import Testing

/// The daemon in dry-run mode against real disk images on real loop devices.
@Suite(.serialized) struct DaemonTests {
    static let kernelFiles = ["/boot/vmlinuz": "kernel bytes\n", "/boot/initrd.img": "initrd bytes\n"]

    func image(_ dir: String, _ name: String, label: String, default index: Int, entries: [(String, String)], kernel: String = "/boot/vmlinuz") throws -> String {
        var files = Self.kernelFiles
        files["/boot/grub/grub.cfg"] = DiskImage.grubConfig(default: index, entries: entries, kernel: kernel)
        return try DiskImage.gptExt4(in: dir, name: name, label: label, files: files)
    }

    func options(_ list: JSONValue) -> [JSONValue] { list["options"]?.arrayValue ?? [] }

    @Test func listShowsTheDevicesAndOptionsOfAnImage() throws {
        let dir = try Shell.temporaryDirectory("daemon-list")
        let disk = try image(dir, "a", label: "ALPHA", default: 1, entries: [("One", "root=/dev/one"), ("Two", "root=/dev/two quiet")])
        let before = try DiskImage.sha256(disk)
        let daemon = try Daemon(dir: dir, images: [disk], autoboot: false)
        let list = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        let devices = list["devices"]?.arrayValue ?? []
        #expect(devices.count == 1)
        #expect(devices.first?["label"] == .string("ALPHA"))
        #expect(devices.first?["image"] == .string(disk))
        #expect(devices.first?["format"] == .string("grub"))
        let opts = options(list)
        #expect(opts.map { $0["title"]?.stringValue } == ["One", "Two"])
        #expect(opts.map { $0["default"] } == [.bool(false), .bool(true)])
        #expect(list["default"] == opts[1]["id"])
        #expect(opts[1]["args"] == .string("root=/dev/two quiet"))
        daemon.stop()
        #expect(try DiskImage.sha256(disk) == before)
        #expect(try !Shell.run("losetup -a").contains(disk))
    }

    @Test func bootingAnOptionAnnouncesItsPlan() throws {
        let dir = try Shell.temporaryDirectory("daemon-boot")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "root=/dev/one"), ("Two", "root=/dev/two quiet")])
        let daemon = try Daemon(dir: dir, images: [disk], autoboot: false)
        defer { daemon.stop() }
        let list = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        let second = try #require(options(list)[1]["id"]?.stringValue)
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        let result = try daemon.client().call("boot", [("option", .string(second))])
        #expect(result["title"] == .string("Two"))
        #expect(result["dry_run"] == .bool(true))
        #expect(result["plan"]?["cmdline"] == .string("root=/dev/two quiet"))
        #expect(result["plan"]?["kernel"]?["size"]?.intValue == 13)
        #expect(result["plan"]?["initrds"]?.arrayValue?.count == 1)
        // Copying the files was reported as it went, to the last byte.
        let copied = try #require(try watcher.waitForEvent("status") { $0["level"] == .string("progress") && $0["file"] == .string("/boot/vmlinuz") })
        #expect(copied["bytes"]?.intValue == 13)
        #expect(copied["total"]?.intValue == 13)
        #expect(copied["rate"]?.intValue != nil)
        let event = try #require(try watcher.waitForEvent("boot-started"))
        #expect(event["option"] == .string(second))
        #expect(event["plan"] == result["plan"])
    }

    @Test func aMissingKernelIsABootFailureNotACrash() throws {
        let dir = try Shell.temporaryDirectory("daemon-missing")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("Gone", "x")], kernel: "/boot/vmlinuz-gone")
        let daemon = try Daemon(dir: dir, images: [disk], autoboot: false)
        defer { daemon.stop() }
        let list = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        let id = try #require(options(list)[0]["id"]?.stringValue)
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        #expect {
            try daemon.client().call("boot", [("option", .string(id))])
        } throws: { ($0 as? Client.Failure)?.message.contains("/boot/vmlinuz-gone is missing") == true }
        let failed = try #require(try watcher.waitForEvent("boot-failed"))
        #expect(failed["option"] == .string(id))
        // Still serving.
        #expect(try daemon.client().call("status")["booting"] == .bool(false))
    }

    @Test func autobootBootsTheConfigDefaultAfterTheTimeout() throws {
        let dir = try Shell.temporaryDirectory("daemon-autoboot")
        let disk = try image(dir, "a", label: "ALPHA", default: 1, entries: [("One", "root=/dev/one"), ("Two", "root=/dev/two")])
        let daemon = try Daemon(dir: dir, images: [], cmdline: "quiet kexboot.timeout=1\n")
        defer { daemon.stop() }
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        try daemon.client().call("attach-image", [("path", .string(disk))])
        let counting = try #require(try watcher.waitForEvent("autoboot") { $0["state"] == .string("counting") })
        #expect(counting["title"] == .string("Two"))
        #expect(counting["seconds"] == .int(1))
        let started = try #require(try watcher.waitForEvent("boot-started"))
        #expect(started["title"] == .string("Two"))
        #expect(started["plan"]?["cmdline"] == .string("root=/dev/two"))
    }

    @Test func cancelStopsTheCountdown() throws {
        let dir = try Shell.temporaryDirectory("daemon-cancel")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "root=/dev/one")])
        let daemon = try Daemon(dir: dir, images: [], cmdline: "kexboot.timeout=2")
        defer { daemon.stop() }
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        try daemon.client().call("attach-image", [("path", .string(disk))])
        _ = try #require(try watcher.waitForEvent("autoboot") { $0["state"] == .string("counting") })
        let result = try daemon.client().call("cancel-autoboot")
        #expect(result["cancelled"] == .bool(true))
        #expect(try watcher.waitForEvent("autoboot")?["state"] == .string("cancelled"))
        // Past the moment it would have booted, nothing has.
        #expect(try watcher.waitForEvent("boot-started", timeout: 3) == nil)
        #expect(try daemon.client().call("status")["autoboot"]?["state"] == .string("cancelled"))
    }

    @Test func kexbootAutoboot0HoldsEvenWhenTheConfigIsChanged() throws {
        let dir = try Shell.temporaryDirectory("daemon-switch")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "x")])
        let daemon = try Daemon(dir: dir, images: [disk], cmdline: "kexboot.autoboot=0 kexboot.timeout=1")
        defer { daemon.stop() }
        _ = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        let c = try daemon.client()
        try c.call("config-set", [("key", .string("autoboot")), ("value", .bool(true))])
        #expect(try c.call("status")["autoboot"]?["state"] == .string("disabled"))
    }

    @Test(arguments: [false, true])
    func choosingDuringTheCountdownEndsItVisibly(explicitKernel: Bool) throws {
        let dir = try Shell.temporaryDirectory("daemon-choose")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "x"), ("Two", "y")])
        let daemon = try Daemon(dir: dir, images: [disk], cmdline: "kexboot.timeout=30")
        defer { daemon.stop() }
        let list = try daemon.waitForList { $0["autoboot"]?["state"] == .string("counting") }
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        if explicitKernel {
            try daemon.client().call("boot", [("kernel", .string("/boot/vmlinuz")), ("device", .string("a.img:1")), ("title", .string("Two"))])
        } else {
            try daemon.client().call("boot", [("option", options(list)[1]["id"]!)])
        }
        #expect(try watcher.waitForEvent("autoboot")?["state"] == .string("cancelled"))
        #expect(try watcher.waitForEvent("boot-started")?["title"] == .string("Two"))
    }

    @Test func imagesWithTheSameFileNameKeepDistinctIds() throws {
        let dir = try Shell.temporaryDirectory("daemon-names")
        var paths: [String] = []
        for sub in ["a", "b", "c"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            paths.append(try image("\(dir)/\(sub)", "disk", label: sub.uppercased(), default: 0, entries: [(sub, sub)]))
        }
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        try c.call("attach-image", [("path", .string(paths[0]))])
        try c.call("attach-image", [("path", .string(paths[1]))])
        try c.call("detach-image", [("path", .string(paths[0]))])
        try c.call("attach-image", [("path", .string(paths[2]))])
        let devices = try c.call("list")["devices"]?.arrayValue ?? []
        #expect(devices.count == 2)
        #expect(Set(devices.compactMap { $0["id"]?.stringValue }) == ["disk.img~2:1", "disk.img:1"])
        #expect(devices.first { $0["id"] == .string("disk.img~2:1") }?["label"] == .string("B"))
        try c.call("rescan")
        #expect(Set((try c.call("list")["devices"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }) == ["disk.img~2:1", "disk.img:1"])
    }

    @Test func aRescanKeepsIdsAndSaysNothingWhenNothingChanged() throws {
        let dir = try Shell.temporaryDirectory("daemon-rescan")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "x")])
        // Another loop device held while the daemon starts, released before the rescan:
        // the image lands on a different loop device the second time.
        let holder = try DiskImage.gptExt4(in: dir, name: "holder", label: "HOLD", files: ["/x": "x"])
        let held = try Shell.run("losetup -r -f --show \(holder)").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try Daemon(dir: dir, images: [disk], autoboot: false)
        defer { daemon.stop() }
        let before = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        try Shell.run("losetup -d \(held)")
        let c = try daemon.client()
        try c.call("subscribe")
        #expect(try c.call("rescan")["devices"] == .int(1))
        let after = try c.call("list")
        #expect(options(after).map { $0["id"] } == options(before).map { $0["id"] })
        #expect(options(after).first?["id"] == .string("a.img:1#0"))
        var names: [String] = []
        while let e = try c.nextEvent(timeout: 0.2) { names.append(e["event"]?.stringValue ?? "") }
        #expect(!names.contains { $0.hasPrefix("device-") || $0.hasPrefix("option-") })
    }

    @Test func aBootQueuedBehindARescanUsesTheNodesTheRescanFound() throws {
        let dir = try Shell.temporaryDirectory("daemon-stale")
        func disk(_ name: String, kernelSize: Int) throws -> String {
            try DiskImage.gptExt4(in: dir, name: name, label: name.uppercased(), files: [
                "/boot/vmlinuz": String(repeating: "k", count: kernelSize), "/boot/initrd.img": "i",
                "/boot/grub/grub.cfg": DiskImage.grubConfig(default: 0, entries: [(name, "from=\(name)")]),
            ])
        }
        let c = try disk("c", kernelSize: 12_288), b = try disk("b", kernelSize: 4096)
        let holder = try DiskImage.gptExt4(in: dir, name: "holder", label: "HOLD", files: ["/x": "x"])
        let held = try Shell.run("losetup -r -f --show \(holder)").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try Daemon(dir: dir, images: [c, b], autoboot: false)
        defer { daemon.stop() }
        _ = try daemon.waitForList { ($0["options"]?.arrayValue ?? []).count == 2 }
        // Free a loop device below theirs, so the rescan moves them.
        try Shell.run("losetup -d \(held)")
        let client = try daemon.client()
        try client.sendLine(#"{"id":1,"request":"rescan"}"#)
        try client.sendLine(#"{"id":2,"request":"boot","params":{"option":"c.img:1#0"}}"#)
        var boot: JSONValue?
        while boot == nil, let m = try client.readMessage(timeout: 60) {
            if m["id"] == .int(2) { boot = m }
        }
        #expect(boot?["result"]?["plan"]?["kernel"]?["size"]?.intValue == 12_288)
    }

    /// Issue 18: discovery of one image never holds up a boot from another. A write lease
    /// on the second image makes the daemon's open of it (to attach its loop device) wait
    /// until the holder lets go (or 45 s, the kernel's lease-break-time); the boot of an
    /// option of the first image must complete meanwhile.
    @Test(.timeLimit(.minutes(2))) func aBootIsNotHeldUpByAnotherImageStillInDiscovery() throws {
        let dir = try Shell.temporaryDirectory("daemon-slow-attach")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "root=/dev/one")])
        let slow = try image(dir, "b", label: "BETA", default: 0, entries: [("Other", "root=/dev/other")])
        let daemon = try Daemon(dir: dir, images: [disk], autoboot: false)
        defer { daemon.stop() }
        let list = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        let first = try #require(options(list).first?["id"]?.stringValue)

        // Says "held" once it has the lease and "breaking" once someone opens the file;
        // lets go when its standard input closes.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
        import fcntl, os, signal, sys
        signal.signal(signal.SIGIO, lambda *a: print("breaking", flush=True))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGIO])  # the test's threads block it
        fd = os.open(sys.argv[1], os.O_RDONLY)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        print("held", flush=True)
        sys.stdin.read()
        """, slow]
        let input = Pipe(), output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        defer {
            try? input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        var said = ""
        func waitFor(_ line: String) {
            while !said.contains(line + "\n") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                said += String(decoding: chunk, as: UTF8.self)
            }
        }
        waitFor("held")
        #expect(said.contains("held"))

        let attacher = try daemon.client()
        let attached = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var attachResult: JSONValue?
        nonisolated(unsafe) let unsafeAttacher = attacher
        Thread.detachNewThread {
            attachResult = try? unsafeAttacher.call("attach-image", [("path", .string(slow))])
            attached.signal()
        }
        // The daemon is now opening the second image, and waiting there.
        waitFor("breaking")
        #expect(said.contains("breaking"))

        let result = try daemon.client().call("boot", [("option", .string(first))])
        #expect(result["title"] == .string("One"))
        #expect(result["dry_run"] == .bool(true))
        #expect(attached.wait(timeout: .now()) == .timedOut, "the boot completed only after the other image's discovery")

        // Let go: the attach completes and its option appears.
        try input.fileHandleForWriting.close()
        #expect(attached.wait(timeout: .now() + 40) == .success)
        #expect(attachResult != nil)
        let after = try daemon.waitForList { list in
            (list["options"]?.arrayValue ?? []).contains { $0["title"] == .string("Other") }
        }
        #expect(options(after).count == 2)
    }

    @Test func anAmbivalentImageIsNotKeptAndNeitherIsItsLoopDevice() throws {
        let dir = try Shell.temporaryDirectory("daemon-ambivalent")
        // An ext4 filesystem with a FAT boot sector written over its first sector: libblkid
        // sees two filesystems and will not choose.
        try Shell.run("cd \(dir) && truncate -s 16M amb.img && mkfs.ext4 -q -F amb.img && truncate -s 16M fat.img"
            + " && mkfs.vfat fat.img >/dev/null && dd if=fat.img of=amb.img bs=512 count=1 conv=notrunc status=none"
            + " && blkid -p amb.img 2>&1 | grep -qi ambivalent")
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        #expect(throws: Client.Failure.self) { try c.call("attach-image", [("path", .string("\(dir)/amb.img"))]) }
        try c.call("status")
        var attached = try Shell.run("losetup -a")
        var tries = 0
        while attached.contains("\(dir)/amb.img") && tries < 50 {
            usleep(100_000)
            attached = try Shell.run("losetup -a")
            tries += 1
        }
        #expect(!attached.contains("\(dir)/amb.img"))
    }

    @Test func aConfigAddedByFileURLBootsFromItsDirectory() throws {
        let dir = try Shell.temporaryDirectory("daemon-url")
        try FileManager.default.createDirectory(atPath: "\(dir)/net/images", withIntermediateDirectories: true)
        try String(repeating: "v", count: 5000).write(toFile: "\(dir)/net/images/vmlinuz", atomically: true, encoding: .utf8)
        try "i".write(toFile: "\(dir)/net/images/initrd.img", atomically: true, encoding: .utf8)
        try "DEFAULT install\nLABEL rescue\n  KERNEL images/vmlinuz\n  APPEND rescue\nLABEL install\n  KERNEL images/vmlinuz\n  INITRD images/initrd.img\n  APPEND auto=true\n"
            .write(toFile: "\(dir)/net/pxelinux.cfg", atomically: true, encoding: .utf8)
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        let added = try c.call("add-url", [("url", .string("file://\(dir)/net/pxelinux.cfg"))])
        #expect(added["options"] == .int(2))
        let list = try c.call("list")
        #expect(list["devices"]?.arrayValue?.first?["type"] == .string("network"))
        #expect(list["default"] == .string("url1#1"))
        let boot = try c.call("boot", [("option", .string("url1#1"))])
        #expect(boot["plan"]?["kernel"]?["size"]?.intValue == 5000)
        #expect(boot["plan"]?["cmdline"] == .string("auto=true"))
        // The config goes away: a rescan takes its options with it.
        try FileManager.default.removeItem(atPath: "\(dir)/net/pxelinux.cfg")
        try c.call("rescan")
        #expect(try c.call("list")["options"]?.arrayValue?.isEmpty == true)
        #expect { try c.call("add-url", [("url", .string("gopher://10.0.2.2/pxelinux.cfg/default"))]) } throws: {
            ($0 as? Client.Failure)?.message.contains("not a URL kexboot fetches") == true
        }
    }

    @Test func denyRulesKeepDevicesOut() throws {
        let dir = try Shell.temporaryDirectory("daemon-deny")
        let kept = try image(dir, "kept", label: "KEPT", default: 0, entries: [("Kept", "x")])
        let denied = try image(dir, "denied", label: "SECRET", default: 0, entries: [("Denied", "y")])
        let daemon = try Daemon(dir: dir, images: [denied, kept], config: "settle = 0\ndeny = label:SECRET\n", autoboot: false)
        defer { daemon.stop() }
        let list = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        try daemon.client().call("rescan")
        let after = try daemon.client().call("list")
        #expect(after["devices"]?.arrayValue?.compactMap { $0["label"]?.stringValue } == ["KEPT"])
        #expect(options(list).compactMap { $0["title"]?.stringValue } == ["Kept"])
        let log = try daemon.client().call("log")["lines"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(log.contains { $0.contains("denied.img:1: left out by the config's allow/deny rules") })
    }

    @Test func anImageThatCannotBeReadIsNotKept() throws {
        let dir = try Shell.temporaryDirectory("daemon-noimage")
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        #expect { try c.call("attach-image", [("path", .string("\(dir)/nope.img"))]) } throws: {
            guard let f = $0 as? Client.Failure else { return false }
            return f.code == "failed" && f.message.components(separatedBy: "nope.img").count == 2
        }
        #expect { try c.call("detach-image", [("path", .string("\(dir)/nope.img"))]) } throws: { ($0 as? Client.Failure)?.code == "not-found" }
    }

    @Test func aClientThatClosesItsSendingSideStillGetsItsAnswers() throws {
        let dir = try Shell.temporaryDirectory("daemon-halfclose")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "x")])
        let daemon = try Daemon(dir: dir, images: [disk], autoboot: false)
        defer { daemon.stop() }
        _ = try daemon.waitForList { !(($0["options"]?.arrayValue ?? []).isEmpty) }
        let c = try daemon.client()
        try c.sendLine(#"{"id":1,"request":"rescan"}"#)
        try c.sendLine(#"{"id":2,"request":"boot","params":{"option":"a.img:1#0"}}"#)
        shutdown(c.fd, Int32(SHUT_WR))
        var ids: [JSONValue?] = []
        while true {
            guard let m = try? c.readMessage(timeout: 30) else { break }
            if m["type"] == .string("response") { ids.append(m["id"]) }
        }
        // Both answered; in either order (docs/protocol.md): the boot no longer waits
        // behind the rescan's reply, only behind the rescan of its own disk.
        #expect(ids.compactMap { $0?.intValue }.sorted() == [1, 2])
    }

    @Test func aHigherPriorityDeviceAddedDuringTheCountdownWins() throws {
        let dir = try Shell.temporaryDirectory("daemon-priority")
        let slow = try image(dir, "slow", label: "SLOW", default: 0, entries: [("Slow default", "from=slow")])
        let fast = try image(dir, "fast", label: "FAST", default: 0, entries: [("Fast default", "from=fast")])
        let daemon = try Daemon(dir: dir, images: [slow], config: "settle = 0\nboot-order = label:FAST, any\n", cmdline: "kexboot.timeout=3")
        defer { daemon.stop() }
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        // Whether the first countdown event came before subscribing or not, the pending
        // autoboot is SLOW's.
        _ = try daemon.waitForList { $0["autoboot"]?["title"] == .string("Slow default") }
        try daemon.client().call("attach-image", [("path", .string(fast))])
        let switched = try #require(try watcher.waitForEvent("autoboot") { $0["title"] == .string("Fast default") })
        #expect(switched["state"] == .string("counting"))
        #expect(switched["seconds"] == .int(3))
        let started = try #require(try watcher.waitForEvent("boot-started"))
        #expect(started["title"] == .string("Fast default"))
    }

    @Test func theSettleWindowLetsASlowerBetterDeviceWin() throws {
        let dir = try Shell.temporaryDirectory("daemon-settle")
        let slow = try image(dir, "slow", label: "SLOW", default: 0, entries: [("Slow default", "from=slow")])
        let fast = try image(dir, "fast", label: "FAST", default: 0, entries: [("Fast default", "from=fast")])
        // timeout 0: SLOW's default would boot at once, but FAST ranks higher and the
        // settle window is still open.
        let daemon = try Daemon(dir: dir, images: [slow], config: "settle = 20\nboot-order = label:FAST, any\n", cmdline: "kexboot.timeout=0")
        defer { daemon.stop() }
        _ = try daemon.waitForList { $0["autoboot"]?["state"] == .string("settling") }
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        try daemon.client().call("attach-image", [("path", .string(fast))])
        let started = try #require(try watcher.waitForEvent("boot-started"))
        #expect(started["title"] == .string("Fast default"))
    }

    @Test func aCandidateTheBootOrderRanksFirstDoesNotWaitForTheSettleWindow() throws {
        let dir = try Shell.temporaryDirectory("daemon-nosettle")
        let disk = try image(dir, "a", label: "ALPHA", default: 0, entries: [("One", "x")])
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 600\n", cmdline: "kexboot.timeout=0")
        defer { daemon.stop() }
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        try daemon.client().call("attach-image", [("path", .string(disk))])
        var states: [String] = []
        while let e = try watcher.nextEvent(timeout: 30) {
            if e["event"] == .string("autoboot") { states.append(e["data"]?["state"]?.stringValue ?? "") }
            if e["event"] == .string("boot-started") { break }
        }
        #expect(states == ["counting", "booting"])
    }

    @Test func aFailedAutobootTriesTheNextCandidateOnce() throws {
        let dir = try Shell.temporaryDirectory("daemon-fallback")
        let broken = try image(dir, "broken", label: "BROKEN", default: 0, entries: [("Broken", "x")], kernel: "/boot/nothing")
        let good = try image(dir, "good", label: "GOOD", default: 0, entries: [("Good", "y")])
        let daemon = try Daemon(dir: dir, images: [broken, good], config: "settle = 0\nboot-order = label:BROKEN, label:GOOD\n",
                                cmdline: "kexboot.timeout=1")
        defer { daemon.stop() }
        let watcher = try daemon.client()
        try watcher.call("subscribe")
        let failed = try #require(try watcher.waitForEvent("boot-failed"))
        #expect(failed["title"] == .string("Broken"))
        let started = try #require(try watcher.waitForEvent("boot-started"))
        #expect(started["title"] == .string("Good"))
        // Each candidate once: nothing more is tried.
        #expect(try watcher.waitForEvent("boot-started", timeout: 2.5) == nil)
    }

    @Test func imagesComeAndGoWhileFiftyClientsWatch() throws {
        let dir = try Shell.temporaryDirectory("daemon-fifty")
        let a = try image(dir, "a", label: "AAA", default: 0, entries: [("A", "a")])
        let b = try image(dir, "b", label: "BBB", default: 0, entries: [("B1", "b"), ("B2", "b2")])
        let sums = try [a, b].map(DiskImage.sha256)
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        let clients = try (0..<50).map { _ in try daemon.client() }
        for c in clients { try c.call("subscribe") }
        let control = try daemon.client()
        for _ in 0..<2 {
            try control.call("attach-image", [("path", .string(a))])
            try control.call("attach-image", [("path", .string(b))])
            try control.call("detach-image", [("path", .string(a))])
            try control.call("detach-image", [("path", .string(b))])
        }
        // A setting changed last is the end marker: its status event comes after the rest.
        try control.call("config-set", [("key", .string("log-level")), ("value", .string("info"))])
        // Every client sees the same sequence of device and option events.
        var sequences: [[String]] = []
        for c in clients {
            var seen: [String] = []
            while let e = try c.nextEvent(timeout: 10) {
                guard let name = e["event"]?.stringValue else { continue }
                if name == "status" {
                    if e["data"]?["message"]?.stringValue?.contains("set log-level") == true { break }
                    continue
                }
                seen.append(name)
            }
            sequences.append(seen)
        }
        let first = sequences[0]
        #expect(first.filter { $0 == "device-added" }.count == 4)
        #expect(first.filter { $0 == "device-removed" }.count == 4)
        #expect(first.filter { $0 == "option-added" }.count == 6)
        #expect(sequences.allSatisfy { $0 == first })
        #expect(try control.call("list")["devices"]?.arrayValue?.isEmpty == true)
        daemon.stop()
        #expect(try [a, b].map(DiskImage.sha256) == sums)
    }

    @Test func malformedAndUnknownRequestsGetErrorsAndTheConnectionStays() throws {
        let dir = try Shell.temporaryDirectory("daemon-malformed")
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        try c.sendLine("this is not json")
        #expect(try c.readMessage(timeout: 10)?["error"]?["code"] == .string("malformed"))
        try c.sendLine("{\"id\":9,\"request\":\"reboot-now\"}")
        let unknown = try c.readMessage(timeout: 10)
        #expect(unknown?["id"] == .int(9))
        #expect(unknown?["error"]?["code"] == .string("unknown-request"))
        try c.sendLine("{\"id\":10,\"request\":\"list\",\"params\":{\"bogus\":1}}")
        #expect(try c.readMessage(timeout: 10)?["error"]?["code"] == .string("invalid-params"))
        try c.sendRaw([0xff, 0xfe, 0x0a])
        #expect(try c.readMessage(timeout: 10)?["error"]?["code"] == .string("malformed"))
        #expect(try c.call("status")["version"] == .string("test"))
    }

    @Test func anOversizedLineIsAnsweredAndClosed() throws {
        let dir = try Shell.temporaryDirectory("daemon-oversized")
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: ProtocolV1.maxLine + 10)
        try? c.sendRaw(big)
        #expect(try c.readMessage(timeout: 10)?["error"]?["code"] == .string("too-large"))
        #expect(throws: Client.Failure.self) { _ = try c.readMessage(timeout: 10) }
        // Others are unaffected.
        #expect(try daemon.client().call("status")["clients"] != nil)
    }

    @Test func requestsSentOneByteAtATimeAndManyAtOnce() throws {
        let dir = try Shell.temporaryDirectory("daemon-framing")
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        for byte in Array("{\"id\":\"slow\",\"request\":\"status\"}\n".utf8) {
            try c.sendRaw([byte])
            usleep(1000)
        }
        let slow = try c.readMessage(timeout: 10)
        #expect(slow?["id"] == .string("slow"))
        #expect(slow?["ok"] == .bool(true))
        var batch = ""
        for i in 0..<200 { batch += "{\"id\":\(i),\"request\":\"status\"}\n" }
        try c.sendRaw(Array(batch.utf8))
        for i in 0..<200 {
            let r = try c.readMessage(timeout: 10)
            #expect(r?["id"] == .int(i))
        }
    }

    @Test func aClientThatNeverReadsIsDroppedWithoutHoldingUpOthers() throws {
        let dir = try Shell.temporaryDirectory("daemon-slow")
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let lazy = try daemon.client()
        // Ask for far more than the socket buffer and the 8 MiB queue hold, never reading.
        let request = Array("{\"id\":1,\"request\":\"config-get\"}\n".utf8)
        var sent = 0
        var flood: [UInt8] = []
        for _ in 0..<2000 { flood += request }
        let busy = try daemon.client()
        while sent < 40 {
            do { try lazy.sendRaw(flood) } catch { break }
            sent += 1
            // The daemon keeps answering everyone else meanwhile.
            #expect(try busy.call("status", timeout: 10)["version"] == .string("test"))
        }
        let log = try busy.call("log", [("lines", .int(50))])
        #expect(log["lines"]?.arrayValue?.contains { $0.stringValue?.contains("too slow") == true } == true)
    }
}
