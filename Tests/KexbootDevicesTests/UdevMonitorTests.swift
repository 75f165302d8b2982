import KexbootOS
import KexbootTestSupport
import Foundation
import Testing
@testable import KexbootDevices

/// The monitor against the real kernel: a loop device with partitions made during the test.
@Suite(.serialized) struct UdevMonitorTests {
    /// Ends the monitor's stream if a test waits too long for an event, so it fails instead of hanging.
    static func stopAfter(seconds: Int, _ monitor: UdevMonitor) -> Task<Void, any Error> {
        Task {
            try await Task.sleep(for: .seconds(seconds))
            monitor.stop()
        }
    }

    @Test func enumerateAndFollowAPartitionedLoopDevice() async throws {
        let dir = try Shell.temporaryDirectory("udev")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/disk.img"
        try Shell.run("truncate -s 32M \(image) && sfdisk -q \(image)", input: "label: gpt\nsize=8M, name=one\nname=two\n")

        let monitor = try UdevMonitor(source: .kernel)
        let stream = monitor.events()
        let watchdog = Self.stopAfter(seconds: 20, monitor)
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

/// Datagrams on the uevent socket itself (root): forged, malformed and real ones.
extension UdevMonitorTests {
    /// A kernel uevent: `ACTION@DEVPATH\0` then `KEY=VALUE\0`….
    static func kernelMessage(_ fields: [String], header: String? = nil) -> [UInt8] {
        let action = fields.first { $0.hasPrefix("ACTION=") }.map { String($0.dropFirst(7)) } ?? "add"
        let devpath = fields.first { $0.hasPrefix("DEVPATH=") }.map { String($0.dropFirst(8)) } ?? "/devices/x"
        let properties: [UInt8] = fields.flatMap { Array($0.utf8) + [UInt8(0)] }
        return Array((header ?? "\(action)@\(devpath)").utf8) + [0] + properties
    }

    /// A udevd message: the 40-byte header (`libudev\0`, magic 0xfeedcafe big-endian, then
    /// header size, properties offset and length, four filter words) and the properties.
    static func udevMessage(_ fields: [String], magic: UInt32 = UInt32(0xfeedcafe).bigEndian, headerSize: UInt32 = 40,
                            offset: UInt32 = 40, length: UInt32? = nil) -> [UInt8] {
        let properties: [UInt8] = fields.flatMap { Array($0.utf8) + [UInt8(0)] }
        var bytes = Array("libudev".utf8) + [0]
        for word: UInt32 in [magic, headerSize, offset, length ?? UInt32(properties.count), 0, 0, 0, 0] {
            bytes += withUnsafeBytes(of: word) { Array($0) }
        }
        return bytes + properties
    }

    /// Sends datagrams on a NETLINK_KOBJECT_UEVENT socket of its own: to multicast `groups`,
    /// or to one socket's `port`.
    final class Sender {
        let fd: Int32
        init() throws { fd = try Netlink.open(protocol: 15, type: Int32(SOCK_DGRAM.rawValue), groups: 0) }
        deinit { close(fd) }

        func send(_ bytes: [UInt8], groups: UInt32, port: UInt32 = 0) throws {
            var address = [UInt8](repeating: 0, count: 12)
            address.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt16(AF_NETLINK), toByteOffset: 0, as: UInt16.self)
                raw.storeBytes(of: port, toByteOffset: 4, as: UInt32.self)
                raw.storeBytes(of: groups, toByteOffset: 8, as: UInt32.self)
            }
            let n = address.withUnsafeBytes { a in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, a.baseAddress!.assumingMemoryBound(to: sockaddr.self), 12) }
            }
            // A multicast is also offered to the kernel's socket (port 0), which may refuse it.
            guard n == bytes.count || (n < 0 && errno == ECONNREFUSED && groups != 0) else {
                throw Errno(errno)
            }
        }
    }

    /// The port id the monitor's socket was given.
    static func port(of monitor: UdevMonitor) -> UInt32 {
        var address = [UInt8](repeating: 0, count: 12)
        var length = socklen_t(12)
        _ = address.withUnsafeMutableBytes { getsockname(monitor.fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length) }
        return address.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }
    }

    static func fields(_ name: String, action: String = "add", extra: [String] = []) -> [String] {
        ["ACTION=\(action)", "DEVPATH=/devices/virtual/block/kxbtest0/\(name)", "SUBSYSTEM=block", "DEVNAME=/dev/\(name)",
         "DEVTYPE=partition", "SEQNUM=1"] + extra
    }

    @Test func udevSourceDropsMalformedAndUnicastDatagramsAndKeepsReading() async throws {
        let monitor = try UdevMonitor(source: .udev)
        let stream = monitor.events()
        let watchdog = Self.stopAfter(seconds: 20, monitor)
        defer { watchdog.cancel() }
        let sender = try Sender()
        let good = Self.udevMessage(Self.fields("kxbtest0p9"))
        let malformed: [[UInt8]] = [
            [UInt8(ascii: "a")],
            Array(good.prefix(23)),
            Array(good.prefix(good.count - 1)),                                     // the last NUL cut off
            Array(good.prefix(60)),                                                 // truncated in the properties
            Self.udevMessage(Self.fields("kxbforged1"), magic: 0x1234_5678),
            Self.udevMessage(Self.fields("kxbforged2"), offset: 0xffff_fff0),
            Self.udevMessage(Self.fields("kxbforged3"), length: 0xffff_ffff),
            Self.udevMessage(Self.fields("kxbforged4"), headerSize: 0xffff_ffff),
            Self.udevMessage(Self.fields("kxbforged5"), offset: 8),                  // properties over the header
            Self.udevMessage(Self.fields("kxbforged6") + ["no equals sign"]),
            Self.udevMessage(Self.fields("kxbforged7").map { $0.replacingOccurrences(of: "/kxbtest0/", with: "/../../") }),
            Self.udevMessage(Self.fields("kxbforged8").map { $0 == "DEVNAME=/dev/kxbforged8" ? "DEVNAME=/etc/shadow" : $0 }),
            Self.kernelMessage(Self.fields("kxbforged9")),                           // the kernel's format on udevd's group
            [UInt8](repeating: 0, count: 64),
            [UInt8](repeating: 0xff, count: 8192),
        ]
        for bytes in malformed { try sender.send(bytes, groups: 2) }
        // Right format, wrong way: straight to the monitor, or to the kernel's group.
        try sender.send(Self.udevMessage(Self.fields("kxbforged10")), groups: 0, port: Self.port(of: monitor))
        try sender.send(Self.udevMessage(Self.fields("kxbforged11")), groups: 1)
        try sender.send(Self.udevMessage(Self.fields("kxbtest0p9", extra: ["ID_FS_TYPE=ext4", "ID_PART_ENTRY_NAME=one"])), groups: 2)

        var seen: [String] = []
        for await event in stream where event.device.name.hasPrefix("kxb") {
            seen.append(event.device.name)
            if event.device.name == "kxbtest0p9" {
                #expect(event == .added(DeviceInfo(subsystem: .block, name: "kxbtest0p9", node: "/dev/kxbtest0p9", devtype: "partition",
                                                   parent: "kxbtest0", properties: ["ID_FS_TYPE": "ext4", "ID_PART_ENTRY_NAME": "one"])))
                break
            }
        }
        monitor.stop()
        #expect(seen == ["kxbtest0p9"])
    }

    @Test func kernelSourceTakesOnlyTheKernelsUevents() async throws {
        let dir = try Shell.temporaryDirectory("uevent")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/disk.img"
        try Shell.run("truncate -s 3M \(image)")
        let loop = try Shell.run("losetup -f --show -r \(image)").trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Shell.run("losetup -d \(loop)") }
        let name = String(loop.dropFirst("/dev/".count))
        // Listening after the attach: its own `change` has gone by.
        let monitor = try UdevMonitor(source: .kernel)
        let stream = monitor.events()
        let watchdog = Self.stopAfter(seconds: 20, monitor)
        defer { watchdog.cancel() }

        // Forged uevents, one for the same device, from a process: its sender port is not 0.
        let sender = try Sender()
        try sender.send(Self.kernelMessage(["ACTION=remove", "DEVPATH=/devices/virtual/block/\(name)", "SUBSYSTEM=block",
                                            "DEVNAME=\(name)", "DEVTYPE=disk"]), groups: 1)
        try sender.send(Self.kernelMessage(["ACTION=add", "DEVPATH=/devices/virtual/block/kxbforged12", "SUBSYSTEM=block",
                                            "DEVNAME=kxbforged12", "DEVTYPE=disk"]), groups: 1)
        // A real one: the kernel sends `change` for a device when asked through sysfs.
        try "change".write(toFile: "/sys/class/block/\(name)/uevent", atomically: false, encoding: .utf8)

        var seen: [String] = []
        for await event in stream where event.device.name == name || event.device.name.hasPrefix("kxb") {
            seen.append("\(event.action) \(event.device.name)")
            if case .changed(let d) = event, d.name == name {
                #expect(d.devtype == "disk" && d.node == loop && d.size == 3 << 20 && d.parent == nil && d.properties.isEmpty)
                break
            }
        }
        monitor.stop()
        // The forged ones were sent first: taken, they would be here.
        #expect(seen == ["change \(name)"])
    }

    @Test func enumerationMatchesSysfs() throws {
        let fm = FileManager.default
        let monitor = try UdevMonitor(source: .kernel)
        // Other tests may add and remove loop devices meanwhile: take a quiet moment.
        var devices: [DeviceInfo] = [], block: [String] = [], net: [String] = []
        for _ in 0..<10 {
            let before = try [fm.contentsOfDirectory(atPath: "/sys/class/block").sorted(), fm.contentsOfDirectory(atPath: "/sys/class/net").sorted()]
            devices = monitor.enumerate()
            let after = try [fm.contentsOfDirectory(atPath: "/sys/class/block").sorted(), fm.contentsOfDirectory(atPath: "/sys/class/net").sorted()]
            (block, net) = (after[0], after[1])
            if before == after { break }
        }
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func uevent(_ path: String) -> [String: String] {
            var fields: [String: String] = [:]
            for line in (read(path) ?? "").split(separator: "\n") {
                let pair = line.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            return fields
        }
        #expect(devices.filter { $0.subsystem == .block }.map(\.name).sorted() == block)
        #expect(devices.filter { $0.subsystem == .net }.map(\.name).sorted() == net)
        for d in devices where d.subsystem == .block {
            let dir = "/sys/class/block/\(d.name)"
            let fields = uevent(dir + "/uevent")
            #expect(d.node == "/dev/" + (fields["DEVNAME"] ?? d.name))
            #expect(d.devtype == fields["DEVTYPE"])
            #expect(d.size == read(dir + "/size").flatMap { UInt64($0) }.map { $0 * 512 })
            let real = URL(fileURLWithPath: dir).resolvingSymlinksInPath()
            if d.isPartition {
                let disk = real.deletingLastPathComponent()
                #expect(d.parent == disk.lastPathComponent)
                #expect(d.removable == (read(disk.path + "/removable") == "1"))
            } else {
                #expect(d.parent == nil)
                #expect(d.removable == (read(dir + "/removable") == "1"))
            }
            #expect(d.properties.isEmpty && d.address == nil)
        }
        for d in devices where d.subsystem == .net {
            #expect(d.address == read("/sys/class/net/\(d.name)/address") && d.node == nil)
        }
        // Disks before their partitions.
        for (i, d) in devices.enumerated() where d.isPartition {
            #expect(devices[..<i].contains { $0.name == d.parent })
        }
        // And /proc/partitions (sizes in KiB) agrees.
        for line in (read("/proc/partitions") ?? "").split(separator: "\n").dropFirst() {
            let columns = line.split(separator: " ")
            guard columns.count == 4, let kib = UInt64(columns[2]) else { continue }
            let d = devices.first { $0.name == String(columns[3]) }
            #expect(d?.size.map { $0 / 1024 } == kib, "\(columns[3])")
        }
    }
}

/// The uevent parser and the sender check, on bytes: what the kernel and udevd send, and
/// what they never would.
@Suite struct UeventParserTests {
    typealias M = UdevMonitorTests

    let partition = ["ACTION=add", "DEVPATH=/devices/virtual/block/loop3/loop3p1", "SUBSYSTEM=block", "MAJOR=259", "MINOR=0",
                     "DEVNAME=loop3p1", "DEVTYPE=partition", "DISKSEQ=9", "PARTN=1", "SEQNUM=4321"]

    @Test func kernelPartition() throws {
        let uevent = try #require(UdevMonitor.parse(M.kernelMessage(partition + ["ID_FAKE=1"]), source: .kernel))
        #expect(uevent.action == "add" && uevent.devpath == "/devices/virtual/block/loop3/loop3p1")
        #expect(uevent.device == DeviceInfo(subsystem: .block, name: "loop3p1", node: "/dev/loop3p1", devtype: "partition", parent: "loop3"))
        #expect(uevent.event == .added(uevent.device))
    }

    @Test func kernelNetAndOtherActions() throws {
        let fields = ["ACTION=remove", "DEVPATH=/devices/virtual/net/dummy0", "SUBSYSTEM=net", "INTERFACE=dummy0", "IFINDEX=5", "SEQNUM=7"]
        let uevent = try #require(UdevMonitor.parse(M.kernelMessage(fields), source: .kernel))
        #expect(uevent.device == DeviceInfo(subsystem: .net, name: "dummy0"))
        #expect(uevent.event == .removed(uevent.device))
        for (action, changed) in [("change", true), ("move", true), ("online", true), ("offline", true), ("bind", false), ("unbind", false)] {
            let f = fields.map { $0.hasPrefix("ACTION=") ? "ACTION=\(action)" : $0 }
            let e = try #require(UdevMonitor.parse(M.kernelMessage(f), source: .kernel)).event
            #expect((e == .changed(uevent.device)) == changed && (e == nil) == !changed, "\(action)")
        }
        // Other subsystems are not ours.
        let usb = ["ACTION=add", "DEVPATH=/devices/pci0000:00/usb1", "SUBSYSTEM=usb", "DEVNAME=bus/usb/001/001", "DEVTYPE=usb_device"]
        #expect(UdevMonitor.parse(M.kernelMessage(usb), source: .kernel) == nil)
    }

    @Test func kernelNamesWithSlashes() throws {
        let fields = ["ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:05.0/cciss0/c0d0/block/cciss!c0d0", "SUBSYSTEM=block",
                      "DEVNAME=cciss/c0d0", "DEVTYPE=disk"]
        let d = try #require(UdevMonitor.parse(M.kernelMessage(fields), source: .kernel)).device
        #expect(d.name == "cciss/c0d0" && d.node == "/dev/cciss/c0d0" && d.parent == nil)
        // No DEVNAME: /dev/NAME.
        let bare = try #require(UdevMonitor.parse(M.kernelMessage(Array(fields.dropLast(2)) + ["DEVTYPE=disk"]), source: .kernel)).device
        #expect(bare.node == "/dev/cciss/c0d0")
    }

    @Test func udevdMessage() throws {
        let fields = ["ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb",
                      "SUBSYSTEM=block", "DEVNAME=/dev/sdb", "DEVTYPE=disk", "DISKSEQ=12", "SEQNUM=5555", "USEC_INITIALIZED=123",
                      "ID_BUS=usb", "ID_MODEL=Stick", "ID_PART_TABLE_TYPE=gpt", "DEVLINKS=/dev/disk/by-id/usb-Stick", "TAGS=:systemd:",
                      "MAJOR=8", "MINOR=16"]
        let uevent = try #require(UdevMonitor.parse(M.udevMessage(fields), source: .udev))
        #expect(uevent.device == DeviceInfo(subsystem: .block, name: "sdb", node: "/dev/sdb", devtype: "disk",
                                            properties: ["ID_BUS": "usb", "ID_MODEL": "Stick", "ID_PART_TABLE_TYPE": "gpt"]))
        // Each source reads only its own format.
        #expect(UdevMonitor.parse(M.udevMessage(fields), source: .kernel) == nil)
        #expect(UdevMonitor.parse(M.kernelMessage(fields), source: .udev) == nil)
        // A longer header from a newer udevd, and padding after the properties, are fine.
        var longer = M.udevMessage(fields, headerSize: 48, offset: 48)
        longer.insert(contentsOf: [UInt8](repeating: 0, count: 8), at: 40)
        #expect(UdevMonitor.parse(longer + [0, 0, 0], source: .udev) == uevent)
        var padded = M.udevMessage(fields)
        padded.append(contentsOf: [0, 0, 0, 0])
        #expect(UdevMonitor.parse(padded, source: .udev) == uevent)
    }

    @Test func malformedKernelMessages() {
        func parse(_ bytes: [UInt8]) -> UdevMonitor.Uevent? { UdevMonitor.parse(bytes, source: .kernel) }
        func with(_ change: (inout [String]) -> Void) -> [UInt8] {
            var f = partition
            change(&f)
            return M.kernelMessage(f)
        }
        let good = M.kernelMessage(partition)
        #expect(parse(good) != nil)
        #expect(parse([]) == nil)
        #expect(parse([0]) == nil)
        #expect(parse(Array("add@/devices/virtual/block/loop3".utf8)) == nil)            // no NUL at all
        #expect(parse(Array("add@/devices/virtual/block/loop3".utf8) + [0]) == nil)      // a header alone
        #expect(parse(M.kernelMessage(partition, header: "add /devices/virtual/block/loop3/loop3p1")) == nil)
        #expect(parse(M.kernelMessage(partition, header: "add@devices")) == nil)
        #expect(parse(M.kernelMessage(partition, header: "@/devices")) == nil)
        #expect(parse(M.kernelMessage(partition, header: "a@/")) == nil)
        #expect(parse(Array(good.dropLast())) == nil)                                     // the last field unterminated
        #expect(parse(with { $0.append("NOEQUALS") }) == nil)
        #expect(parse(with { $0.append("=value") }) == nil)
        #expect(parse(with { $0.removeFirst() }) == nil)                                  // no ACTION
        #expect(parse(with { $0[0] = "ACTION=" }) == nil)
        #expect(parse(with { $0.remove(at: 1) }) == nil)                                  // no DEVPATH
        #expect(parse(with { $0.remove(at: 2) }) == nil)                                  // no SUBSYSTEM
        #expect(parse(with { $0.insert("", at: 1) }) == nil)                              // an empty field ends them
        for devpath in ["devices/virtual/block/loop3/loop3p1", "/devices/virtual/block/../../../etc", "/devices//block/loop3p1",
                        "/devices/virtual/block/loop3/", "/devices/./loop3p1", "/sys/devices/loop3/loop3p1", "/", "", "/devices/"] {
            #expect(parse(with { $0[1] = "DEVPATH=\(devpath)" }) == nil, "\(devpath)")
        }
        // A partition needs a disk above it.
        #expect(parse(with { $0[1] = "DEVPATH=/devices/loop3p1" }) == nil)
        for devname in ["../etc/shadow", "/etc/shadow", "/dev/../etc/shadow", "loop3//p1", "/dev/", "/dev"] {
            #expect(parse(with { $0[5] = "DEVNAME=\(devname)" }) == nil, "\(devname)")
        }
        // Every prefix either lacks something or is the same uevent with fewer fields.
        for n in 0..<good.count {
            if let u = parse(Array(good.prefix(n))) { #expect(u.device.name == "loop3p1") }
        }
    }

    @Test func malformedUdevdMessages() {
        func parse(_ bytes: [UInt8]) -> UdevMonitor.Uevent? { UdevMonitor.parse(bytes, source: .udev) }
        let fields = partition.map { $0 == "DEVNAME=loop3p1" ? "DEVNAME=/dev/loop3p1" : $0 } + ["ID_FS_TYPE=vfat"]
        let good = M.udevMessage(fields)
        #expect(parse(good)?.device.properties == ["ID_FS_TYPE": "vfat"])
        // Cut anywhere, the properties run past the end.
        for n in 0..<good.count { #expect(parse(Array(good.prefix(n))) == nil, "\(n) bytes") }
        var prefix = good
        prefix[7] = UInt8(ascii: "X")
        #expect(parse(prefix) == nil)
        prefix = good
        prefix[0] = UInt8(ascii: "L")
        #expect(parse(prefix) == nil)
        #expect(parse(M.udevMessage(fields, magic: 0)) == nil)
        #expect(parse(M.udevMessage(fields, magic: UInt32(0xfeedcafe).byteSwapped.bigEndian)) == nil)  // the wrong byte order
        let count = UInt32(good.count), length = count - 40
        for (headerSize, offset, len) in [(40, 40, 0), (40, 40, length + 1), (40, 41, length), (40, 39, length), (40, 0, length),
                                          (40, 8, length), (23, 40, length), (0, 40, length), (41, 40, length),
                                          (40, count, 1), (40, count + 1, 0), (40, 0xffff_ffff, length), (40, 40, 0xffff_ffff),
                                          (40, 0xffff_ffff, 0xffff_ffff), (40, 0x8000_0000, 0x8000_0000), (0xffff_ffff, 40, length)]
            as [(UInt32, UInt32, UInt32)] {
            #expect(parse(M.udevMessage(fields, headerSize: headerSize, offset: offset, length: len)) == nil,
                    "header \(headerSize) offset \(offset) length \(len)")
        }
        // One byte short: the last property loses its NUL.
        #expect(parse(M.udevMessage(fields, length: length - 1)) == nil)
        #expect(parse(M.udevMessage(fields + ["BROKEN"])) == nil)
        #expect(parse(M.udevMessage(fields.map { $0.hasPrefix("DEVNAME=") ? "DEVNAME=/proc/self/mem" : $0 })) == nil)
    }

    /// Random bytes and random damage to good messages: never a crash, and nothing
    /// accepted that does not name a device of ours.
    @Test func randomBytesNeverCrash() {
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let goods = [M.kernelMessage(partition), M.udevMessage(partition)]
        for round in 0..<20000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int(next() % 200)).map { _ in UInt8(truncatingIfNeeded: next()) }
                if round % 8 == 0 { bytes = Array("libudev".utf8) + [0] + bytes }
            } else {
                bytes = goods[round % 2]
                for _ in 0..<(1 + Int(next() % 4)) {
                    let i = Int(next() % UInt64(bytes.count))
                    switch next() % 4 {
                    case 0: bytes[i] = UInt8(truncatingIfNeeded: next())
                    case 1: bytes[i] = 0
                    case 2: bytes.removeSubrange(i...)
                    default: if i + 4 <= bytes.count { bytes.replaceSubrange(i..<(i + 4), with: withUnsafeBytes(of: UInt32(truncatingIfNeeded: next())) { Array($0) }) }
                    }
                    if bytes.isEmpty { break }
                }
            }
            for source in [UdevMonitor.Source.kernel, .udev] {
                if let u = UdevMonitor.parse(bytes, source: source) {
                    #expect(UdevMonitor.isDevpath(u.devpath) && u.device.node?.hasPrefix("/dev/") != false)
                }
            }
        }
    }

    @Test func onlyTheKernelAndUdevdAreBelieved() {
        typealias R = Netlink.Received
        let bytes = M.kernelMessage(partition)
        #expect(UdevMonitor.trusted(R(bytes: bytes, port: 0, groups: 1, pid: 0, uid: 0), source: .kernel))
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 4242, groups: 1, pid: 4242, uid: 0), source: .kernel))  // a process
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 0, groups: 0, pid: 0, uid: 0), source: .kernel))        // unicast
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 0, groups: 2, pid: 0, uid: 0), source: .kernel))
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 0, groups: 1), source: .kernel))                         // no credentials
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 0, groups: 1, pid: 0, uid: 1000), source: .kernel))
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 0, groups: 1, pid: 0, uid: 0, truncated: true), source: .kernel))
        #expect(UdevMonitor.trusted(R(bytes: bytes, port: 321, groups: 2, pid: 321, uid: 0), source: .udev))
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 321, groups: 2, pid: 321, uid: 1000), source: .udev))   // not root
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 321, groups: 0, pid: 321, uid: 0), source: .udev))
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 0, groups: 1, pid: 0, uid: 0), source: .udev))
        #expect(!UdevMonitor.trusted(R(bytes: bytes, port: 321, groups: 2), source: .udev))
    }

    /// A sysfs and a udev database made in a directory: names, nodes, parents, sizes,
    /// removable disks, MACs and `ID_*` properties.
    @Test func enumerationOfAFixtureSysfs() throws {
        let root = try Shell.temporaryDirectory("sysfs")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        func file(_ path: String, _ text: String) throws {
            try fm.createDirectory(atPath: (root + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: root + path, atomically: false, encoding: .utf8)
        }
        func link(_ path: String, _ target: String) throws {
            try fm.createDirectory(atPath: (root + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: root + path, withDestinationPath: target)
        }
        let usb = "/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/host6/target6:0:0/6:0:0:0/block/sdz"
        try file(usb + "/uevent", "MAJOR=8\nMINOR=16\nDEVNAME=sdz\nDEVTYPE=disk\nDISKSEQ=4\n")
        try file(usb + "/size", "2048\n")
        try file(usb + "/removable", "1\n")
        try file(usb + "/sdz1/uevent", "MAJOR=8\nMINOR=17\nDEVNAME=sdz1\nDEVTYPE=partition\nPARTN=1\n")
        try file(usb + "/sdz1/size", "1024\n")
        try file(usb + "/sdz1/removable", "0\n")   // partitions say 0; the disk's counts
        let cciss = "/sys/devices/pci0000:00/0000:00:05.0/cciss0/c0d0/block/cciss!c0d0"
        try file(cciss + "/uevent", "MAJOR=104\nMINOR=0\nDEVNAME=cciss/c0d0\nDEVTYPE=disk\n")
        try file(cciss + "/size", "99999999999999999999\n")   // overflows: no size
        try file(cciss + "/removable", "0\n")
        try file("/sys/devices/virtual/block/evil/uevent", "MAJOR=1\nMINOR=1\nDEVNAME=../etc/shadow\nDEVTYPE=disk\n")
        try file("/sys/devices/virtual/block/gone/size", "8\n")   // no uevent: skipped
        try file("/sys/devices/pci0000:00/0000:00:03.0/net/eth9/uevent", "INTERFACE=eth9\nIFINDEX=7\n")
        try file("/sys/devices/pci0000:00/0000:00:03.0/net/eth9/address", "52:54:00:12:34:56\n")
        try link("/sys/class/block/sdz", "../../devices/pci0000:00/0000:00:14.0/usb2/2-1/host6/target6:0:0/6:0:0:0/block/sdz")
        try link("/sys/class/block/sdz1", "../../devices/pci0000:00/0000:00:14.0/usb2/2-1/host6/target6:0:0/6:0:0:0/block/sdz/sdz1")
        try link("/sys/class/block/cciss!c0d0", "../../devices/pci0000:00/0000:00:05.0/cciss0/c0d0/block/cciss!c0d0")
        try link("/sys/class/block/evil", "../../devices/virtual/block/evil")
        try link("/sys/class/block/gone", "../../devices/virtual/block/gone")
        try link("/sys/class/block/dangling", "../../devices/virtual/block/nowhere")
        try link("/sys/class/block/outside", "/dev")
        try link("/sys/class/net/eth9", "../../devices/pci0000:00/0000:00:03.0/net/eth9")
        try file("/udev/b8:16", "S:disk/by-id/usb-Stick\nW:3\nI:123\nE:ID_BUS=usb\nE:ID_MODEL=Stick\nE:ID_PART_TABLE_TYPE=gpt\nG:systemd\nQ:systemd\nV:1\n")
        try file("/udev/b8:17", "E:ID_FS_TYPE=vfat\nE:ID_FS_LABEL=BOOT\nE:PARTN=1\nE:ID_BROKEN\n")
        try file("/udev/n7", "E:ID_NET_NAME_PATH=enp0s3\nE:ID_BUS=pci\n")

        let plain = UdevMonitor.scan(sysfs: root + "/sys", udevData: nil)
        let disk = DeviceInfo(subsystem: .block, name: "sdz", node: "/dev/sdz", devtype: "disk", size: 1 << 20, removable: true)
        let part = DeviceInfo(subsystem: .block, name: "sdz1", node: "/dev/sdz1", devtype: "partition", parent: "sdz", size: 512 << 10, removable: true)
        let array = DeviceInfo(subsystem: .block, name: "cciss/c0d0", node: "/dev/cciss/c0d0", devtype: "disk")
        let nic = DeviceInfo(subsystem: .net, name: "eth9", address: "52:54:00:12:34:56")
        #expect(plain == [array, disk, part, nic])

        let withUdev = UdevMonitor.scan(sysfs: root + "/sys", udevData: root + "/udev")
        var expected = [array, disk, part, nic]
        expected[1].properties = ["ID_BUS": "usb", "ID_MODEL": "Stick", "ID_PART_TABLE_TYPE": "gpt"]
        expected[2].properties = ["ID_FS_TYPE": "vfat", "ID_FS_LABEL": "BOOT"]
        expected[3].properties = ["ID_NET_NAME_PATH": "enp0s3", "ID_BUS": "pci"]
        #expect(withUdev == expected)

        // The monitor reads udevd's database only when its source is udevd.
        #expect(try UdevMonitor(source: .kernel, sysfs: root + "/sys", udevData: root + "/udev").enumerate() == plain)
        #expect(try UdevMonitor(source: .udev, sysfs: root + "/sys", udevData: root + "/udev").enumerate() == expected)
    }
}
