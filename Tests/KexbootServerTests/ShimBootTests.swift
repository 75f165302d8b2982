import Foundation
import KexbootCore
import KexbootTestSupport
import Testing

/// A PReP partition's Open Firmware client becomes an option; booting it makes the shim's
/// kexec_load plan (a dry run here: the load itself happens only on ppc64).
@Suite(.serialized) struct ShimBootTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let shim = repo + "/build/ofshim"

    /// The shim built (`make ofshim`) and a pseries device tree in `dir`.
    func prepare(_ dir: String) throws {
        if !FileManager.default.fileExists(atPath: Self.shim + "/kexec-entry.bin") {
            try Shell.run("make -s -C \(Self.repo) ofshim 2>&1")
        }
        try Shell.run("qemu-system-ppc64 -M pseries,dumpdtb=\(dir)/pseries.dtb -m 1G -nographic -vga none >/dev/null 2>&1 || true")
    }

    /// A dry-run daemon on `image` that knows where the shim and the tree are.
    func shimDaemon(_ dir: String, _ image: String, autoboot: Bool) throws -> Daemon {
        try Daemon(dir: dir, images: [image], autoboot: autoboot) {
            $0.shimDirectory = Self.shim
            $0.deviceTree = dir + "/pseries.dtb"
            $0.ofBootpath = "/vdevice/v-scsi@71000003/disk@8000000000000000"
        }
    }

    @Test func prepPayloadBootsThroughTheShimPlan() throws {
        let dir = try Shell.temporaryDirectory("shim-boot")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try prepare(dir)
        let shim = Self.shim
        try Shell.run("""
            truncate -s 8M \(dir)/power.img
            printf 'label: dos\\nstart=2048, size=2048, type=41, bootable\\nstart=4096, size=8192, type=83\\n' | sfdisk -q \(dir)/power.img
            dd if=\(shim)/ci-test.elf of=\(dir)/power.img bs=512 seek=2048 conv=notrunc status=none
            """)
        let before = try DiskImage.sha256(dir + "/power.img")
        let daemon = try shimDaemon(dir, dir + "/power.img", autoboot: true)
        let list = try daemon.waitForList { !($0["options"]?.arrayValue ?? []).isEmpty }
        let option = try #require(list["options"]?.arrayValue?.first)
        #expect(option["kind"] == .string("elf"))
        #expect(option["title"]?.stringValue?.hasPrefix("PReP boot payload (partition 1, ELF") == true)
        // Chosen by hand only.
        #expect(option["default"] == .bool(false))
        #expect(list["devices"]?.arrayValue?.first?["prep_partition"] == .int(1))
        let booted = try daemon.client().call("boot", [("option", option["id"]!)])
        let plan = try #require(booted["plan"])
        #expect(plan["method"] == .string("kexec_load"))
        let segments = plan["segments"]?.arrayValue ?? []
        #expect(segments.count == 4)
        // The shim is loaded high (Linux refuses segments over the running kernel); its
        // kexec entry copies it to 0.
        #expect((segments.first?["mem"]?.intValue ?? 0) > 0x3000_0000)
        // The entry is the last segment placed: the kexec entry, high in the 1 GiB RMA.
        #expect((plan["entry"]?.intValue ?? 0) > 0x3000_0000)
        daemon.stop()
        #expect(try DiskImage.sha256(dir + "/power.img") == before)
        #expect(try !Shell.run("losetup -a").contains(dir))
    }

    /// A kexboot.conf `client` entry: the ELF comes from the filesystem (checked against
    /// its sha256), the bundle carries the disk's partition table and that partition.
    @Test func clientNamedByAConfigBootsThroughTheShimPlan() throws {
        let dir = try Shell.temporaryDirectory("shim-client")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try prepare(dir)
        let shim = Self.shim
        try Shell.run("""
            mkdir -p \(dir)/tree/boot/grub
            cp \(shim)/ci-test.elf \(dir)/tree/boot/grub/core.elf
            sum=$(sha256sum < \(dir)/tree/boot/grub/core.elf | cut -c1-64)
            printf 'entry grub\\n  title GRUB for Open Firmware\\n  client /boot/grub/core.elf\\n  args console=hvc0\\n  sha256 /boot/grub/core.elf %s\\n' $sum > \(dir)/tree/boot/kexboot.conf
            truncate -s 24M \(dir)/fs.ext4 && mkfs.ext4 -q -F -L POWERBOOT -d \(dir)/tree \(dir)/fs.ext4
            truncate -s 26M \(dir)/power.img
            printf 'label: dos\\nstart=2048, size=24M, type=83\\n' | sfdisk -q \(dir)/power.img
            dd if=\(dir)/fs.ext4 of=\(dir)/power.img bs=512 seek=2048 conv=notrunc status=none
            """)
        let before = try DiskImage.sha256(dir + "/power.img")
        let daemon = try shimDaemon(dir, dir + "/power.img", autoboot: false)
        let list = try daemon.waitForList { !($0["options"]?.arrayValue ?? []).isEmpty }
        let option = try #require(list["options"]?.arrayValue?.first)
        #expect(option["kind"] == .string("elf"))
        #expect(option["title"] == .string("GRUB for Open Firmware"))
        let booted = try daemon.client().call("boot", [("option", option["id"]!)])
        let plan = try #require(booted["plan"])
        #expect(plan["method"] == .string("kexec_load"))
        #expect(plan["cmdline"] == .string("console=hvc0"))
        // The bundle: header, client, the partition table's block and the 24 MiB partition.
        let bundle = plan["segments"]?.arrayValue?[1]["bufsz"]?.intValue ?? 0
        #expect(bundle > 24 << 20 && bundle < 25 << 20)
        daemon.stop()
        #expect(try DiskImage.sha256(dir + "/power.img") == before)
        #expect(try !Shell.run("losetup -a").contains(dir))
        #expect(try !Shell.run("cat /proc/mounts").contains(dir))
    }
}
