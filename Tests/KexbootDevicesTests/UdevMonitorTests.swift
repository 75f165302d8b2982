import KexbootTestSupport
import Foundation
import Testing
@testable import KexbootDevices

/// libudev against the real kernel: a loop device with partitions made during the test.
@Suite(.serialized) struct UdevMonitorTests {
    @Test func enumerateAndFollowAPartitionedLoopDevice() async throws {
        let dir = try Shell.temporaryDirectory("udev")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/disk.img"
        try Shell.run("truncate -s 32M \(image) && sfdisk -q \(image)", input: "label: gpt\nsize=8M, name=one\nname=two\n")

        let monitor = try UdevMonitor(source: .kernel)
        let stream = monitor.events()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            monitor.stop()
        }
        defer { watchdog.cancel() }

        let loop = try Shell.run("losetup -f --show -r -P \(image)").trimmingCharacters(in: .whitespacesAndNewlines)
        let name = String(loop.dropFirst("/dev/".count))
        // Kernels without the GPT parser need the partitions added by hand, as kexboot does.
        if !FileManager.default.fileExists(atPath: "/sys/block/\(name)/\(name)p1") {
            try Shell.run("partx -a \(loop)")
        }
        let devices = monitor.enumerate()
        let disk = try #require(devices.first { $0.name == name })
        #expect(disk.devtype == "disk" && disk.size == 32 << 20 && disk.node == loop)
        let part = try #require(devices.first { $0.name == "\(name)p1" })
        #expect(part.devtype == "partition" && part.parent == name && part.size == 8 << 20)
        #expect(part.node == "/dev/\(name)p1")
        #expect(devices.contains { $0.subsystem == .net && $0.name == "lo" })

        try Shell.run("losetup -d \(loop)")
        var added = false, removed = false
        for await event in stream {
            if event.device.name == "\(name)p1" {
                if case .added(let d) = event {
                    added = true
                    #expect(d.parent == name && d.devtype == "partition")
                }
                if case .removed = event { removed = true }
            }
            if added && removed { break }
        }
        monitor.stop()
        #expect(added && removed)
    }

    @Test func stopEndsTheStream() async throws {
        let monitor = try UdevMonitor(source: .kernel)
        let stream = monitor.events()
        monitor.stop()
        // The test hangs (and CI times out) if stop() does not end the stream.
        var events = 0
        for await _ in stream { events += 1 }
        #expect(events == 0)
        monitor.stop()  // a second stop is harmless
    }
}
