import Foundation
import KexbootCore
import KexbootOS
@testable import KexbootServer
import KexbootTestSupport
import Testing

/// yaboot's devices in the daemon: `partition:N` on the config's disk, `of:SPEC[:N]`
/// through a fake device tree's aliases and a fake sysfs's `devspec` files.
@Suite struct EntryBooterDeviceTests {
    static let vscsi = "/vdevice/v-scsi@30000002"

    /// A fake machine: sysfs and device tree under `dir`, and the devices kexboot found.
    /// sda (partitions 1–3, the config on 1) and sdb (a filesystem on the whole disk) have
    /// devspecs; sdc (partition 1) has none. Aliases: hd → sda, external → sdb.
    struct Machine {
        let dir: String
        let booter: EntryBooter
        let devices: [ServerDevice]
        var config: ServerDevice { devices[0] }

        init(deviceTree: Bool = true) throws {
            let dir = try Shell.temporaryDirectory("of-devices")
            let fm = FileManager.default
            func write(_ path: String, _ text: String) throws {
                try fm.createDirectory(atPath: Path.directory(dir + path), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: URL(fileURLWithPath: dir + path))
            }
            try write("/sys/class/block/sda/device/devspec", "\(vscsi)/disk@8100000000000000\n")
            try write("/sys/class/block/sdb/device/devspec", "\(vscsi)/disk@8200000000000000\n")
            try fm.createDirectory(atPath: dir + "/sys/class/block/sdc/device", withIntermediateDirectories: true)
            if deviceTree {
                try write("/dt/aliases/hd", "\(vscsi)/disk@8100000000000000\0")
                try write("/dt/aliases/external", "\(vscsi)/disk@8200000000000000\0")
                try write("/dt/aliases/cd3", "\(vscsi)/disk@8200000000000000:3\0")
                try write("/dt/aliases/net", "network\0")
            } else {
                try fm.createDirectory(atPath: dir + "/dt", withIntermediateDirectories: true)
            }
            let booter = EntryBooter(mounts: try MountSet(base: dir + "/mnt"), stage: dir + "/stage",
                                 sysfs: dir + "/sys", deviceTree: dir + "/dt")
            func partition(_ disk: String, _ n: Int) -> ServerDevice {
                var d = ServerDevice(id: "\(disk)\(n)", type: "disk", disk: disk, node: "/dev/\(disk)\(n)", size: 1 << 20)
                d.fstype = "ext4"
                d.diskNode = "/dev/\(disk)"
                d.partition = n
                return d
            }
            var config = partition("sda", 1)
            config.config = "/etc/yaboot.conf"
            config.format = "yaboot"
            var whole = ServerDevice(id: "sdb", type: "disk", disk: "sdb", node: "/dev/sdb", size: 1 << 20)
            whole.fstype = "ext4"
            var prep = partition("sda", 4)
            prep.format = "prep"
            prep.prep = (4, 2048, 1 << 20)
            self.dir = dir
            self.booter = booter
            devices = [config, partition("sda", 2), partition("sda", 3), prep, whole, partition("sdc", 1)]
        }

        func request(device: ServerDevice? = nil) -> EntryBooter.Request {
            EntryBooter.Request(title: "t", kernel: .file(device: nil, path: "/vmlinux"), initrds: [], devicetree: nil,
                                args: "", device: device ?? config)
        }

        func resolve(_ identity: String, from device: ServerDevice? = nil) throws -> ServerDevice? {
            try booter.device(for: .file(device: identity, path: "/vmlinux"), request: request(device: device), devices: devices)
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    func message(_ body: () throws -> Any?) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func partitionNIsOnTheConfigsDisk() throws {
        let m = try Machine()
        defer { m.remove() }
        #expect(try m.resolve("partition:2")?.id == "sda2")
        #expect(try m.resolve("partition:1")?.id == "sda1")
        // From a config on sdc1, partition 1 is sdc1, not sda1.
        #expect(try m.resolve("partition:1", from: m.devices[5])?.id == "sdc1")
    }

    @Test func partitionNThatIsNotThereSaysSo() throws {
        let m = try Machine()
        defer { m.remove() }
        #expect(message { try m.resolve("partition:9") }?.contains("partition 9 of disk sda was not found") == true)
        // A PReP payload is no filesystem to read a kernel from.
        #expect(message { try m.resolve("partition:4") }?.contains("partition 4 of disk sda was not found") == true)
        // A config on a whole-disk filesystem, or added by URL, has no partitions beside it.
        #expect(message { try m.resolve("partition:2", from: m.devices[4]) }?.contains("is no partition of a disk") == true)
        var url = ServerDevice(id: "url-1", type: "disk", disk: "url-1", node: "", size: 0)
        url.directory = "/srv"
        #expect(message { try m.resolve("partition:2", from: url) }?.contains("is no partition of a disk") == true)
    }

    @Test func openFirmwareAliasesAndPaths() throws {
        let m = try Machine()
        defer { m.remove() }
        #expect(try m.resolve("of:hd:3")?.id == "sda3")
        #expect(try m.resolve("of:\(Self.vscsi)/disk@8100000000000000:2")?.id == "sda2")
        // Hex unit addresses compare without case.
        #expect(try m.resolve("of:/VDEVICE/V-SCSI@30000002/DISK@8100000000000000:2")?.id == "sda2")
        // No partition: the disk's own filesystem, or the config's partition on its disk.
        #expect(try m.resolve("of:external")?.id == "sdb")
        #expect(try m.resolve("of:hd")?.id == "sda1")
        // An alias that carries a partition.
        #expect(message { try m.resolve("of:cd3") }?.contains("partition 3 of disk sdb was not found") == true)
    }

    @Test func openFirmwareNamesThatCannotBeResolvedSaySo() throws {
        let m = try Machine()
        defer { m.remove() }
        #expect(message { try m.resolve("of:cdrom:1") }?.contains("Open Firmware has no alias 'cdrom'") == true)
        #expect(message { try m.resolve("of:net") }?.contains("no device path") == true)
        #expect(message { try m.resolve("of:/pci@800000020000000/scsi@1/sd@8,0:2") }?
            .contains("no disk has the Open Firmware path /pci@800000020000000/scsi@1/sd@8,0") == true)
        #expect(message { try m.resolve("of:hd:7") }?.contains("partition 7 of disk sda was not found") == true)
        #expect(message { try m.resolve("of:hd:x") }?.contains("'x' is no partition number") == true)
        // sdb has no partitions but the name gives one; a partitioned disk other than the
        // config's with no partition named.
        let other = m.devices[4]
        #expect(message { try m.resolve("of:hd", from: other) }?.contains("disk sda has partitions; the name gives none") == true)
    }

    @Test func withoutADeviceTreeAliasesCannotBeResolved() throws {
        let m = try Machine(deviceTree: false)
        defer { m.remove() }
        let text = message { try m.resolve("of:hd:3") }
        #expect(text?.contains("Open Firmware alias 'hd' cannot be resolved") == true)
        #expect(text?.contains("aliases is missing") == true)
        // A full path needs no aliases.
        #expect(try m.resolve("of:\(Self.vscsi)/disk@8200000000000000")?.id == "sdb")
    }

    @Test func splitsOpenFirmwareSpecs() throws {
        #expect(try EntryBooter.splitOpenFirmware("hd:3", what: "") == ("hd", 3))
        #expect(try EntryBooter.splitOpenFirmware("hd", what: "") == ("hd", nil))
        #expect(try EntryBooter.splitOpenFirmware("hd:", what: "") == ("hd", nil))
        #expect(try EntryBooter.splitOpenFirmware("/pci@0/sd@8,0:2", what: "") == ("/pci@0/sd@8,0", 2))
        #expect(try EntryBooter.splitOpenFirmware("/a@1:x/b@2", what: "") == ("/a@1:x/b@2", nil))
    }
}
