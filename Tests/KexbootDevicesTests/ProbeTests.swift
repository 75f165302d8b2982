import KexbootTestSupport
import Foundation
import Testing
import KexbootOS
@testable import KexbootDevices

/// `kexboot probe` on real disk images made with sfdisk, mkfs and friends, attached through
/// real loop devices (the tests run as root). Every image must be byte-identical afterwards,
/// and every loop device and mount released.
@Suite(.serialized) struct ProbeTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/kexboot").path

    struct Probe {
        var status: Int32
        var json: [String: Any]
        var stdout: String
    }

    let dir: String

    init() throws {
        dir = try Shell.temporaryDirectory("probe")
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs the real command, and checks that the images are unchanged and nothing is left
    /// attached or mounted.
    func probe(_ images: [String], extra: [String] = []) throws -> Probe {
        let files = images.filter { (try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeRegular }
        let before = try files.map { try Shell.run("sha256sum < \($0)") }
        let mountDir = dir + "/mnt"
        let args = (["probe", "--json", "--mount-dir", mountDir] + images + extra).map { "'\($0)'" }.joined(separator: " ")
        let out = try Shell.run("\(Self.binary) \(args); echo \"status=$?\"")
        let statusLine = out.split(separator: "\n").last ?? ""
        let status = Int32(statusLine.dropFirst("status=".count)) ?? -1
        let jsonText = out.split(separator: "\n").dropLast().joined(separator: "\n")
        let json = (try? JSONSerialization.jsonObject(with: Data(jsonText.utf8))) as? [String: Any] ?? [:]
        let after = try files.map { try Shell.run("sha256sum < \($0)") }
        #expect(before == after, "an image changed")
        for image in files {
            #expect(try Shell.run("losetup -j '\(image)'").isEmpty, "a loop device is still attached to \(image)")
        }
        #expect(try !Shell.run("cat /proc/mounts").contains(mountDir), "a mount is left")
        return Probe(status: status, json: json, stdout: out)
    }

    static func devices(_ p: Probe) -> [[String: Any]] { p.json["devices"] as? [[String: Any]] ?? [] }
    static func partitions(_ device: [String: Any]) -> [[String: Any]] { device["partitions"] as? [[String: Any]] ?? [] }
    static func messages(_ p: Probe) -> [String] {
        (p.json["diagnostics"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
    }

    /// An ext4 image holding `files`.
    func ext4(_ name: String, size: String, uuid: String, label: String, files: [String: String]) throws -> String {
        let tree = dir + "/tree-\(name)"
        for (path, text) in files {
            try FileManager.default.createDirectory(atPath: tree + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: tree + path, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        let image = dir + "/\(name).ext4"
        try Shell.run("truncate -s \(size) \(image) && mkfs.ext4 -q -F -U \(uuid) -L \(label) -d \(tree) \(image)")
        return image
    }

    /// Copies `image` into `disk` at 512-byte sector `sector`.
    func place(_ image: String, in disk: String, at sector: Int) throws {
        try Shell.run("dd if=\(image) of=\(disk) bs=512 seek=\(sector) conv=notrunc status=none")
    }

    static let grubCfg = """
    set timeout=3
    search --no-floppy --fs-uuid --set=root 11111111-2222-3333-4444-555555555555
    menuentry 'Test Linux' --id test { linux /vmlinuz root=/dev/vda4 ro; initrd /initrd.img; }

    """

    @Test func gptDiskWithPRePESPBootAndRoot() throws {
        defer { cleanup() }
        let disk = dir + "/gpt.img"
        try Shell.run("truncate -s 100M \(disk) && sfdisk -q \(disk)", input: """
        label: gpt
        start=2048, size=8M, type=9E1A2D38-C612-4316-AA26-8B49521E5A8B, name=PReP
        size=20M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=ESP
        size=40M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=boot
        type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root

        """)
        let boot = try ext4("boot", size: "40M", uuid: "11111111-2222-3333-4444-555555555555", label: "boot",
                            files: ["/grub/grub.cfg": Self.grubCfg, "/vmlinuz": "k", "/initrd.img": "i"])
        let root = try ext4("root", size: "30M", uuid: "66666666-7777-8888-9999-000000000000", label: "root", files: ["/etc/hostname": "test\n"])
        try place(boot, in: disk, at: 59392)
        try place(root, in: disk, at: 141312)
        try Shell.run("truncate -s 20M \(dir)/esp.vfat && mkfs.vfat -n ESP \(dir)/esp.vfat >/dev/null")
        try place(dir + "/esp.vfat", in: disk, at: 18432)
        try Shell.run("powerpc64-linux-gnu-gcc -m32 -nostdlib -static -Wl,-T,\(Shell.fixtures)/note.ld -o \(dir)/note.elf \(Shell.fixtures)/note.S")
        try place(dir + "/note.elf", in: disk, at: 2048)

        let p = try probe([disk])
        #expect(p.status == 0)
        let device = try #require(Self.devices(p).first)
        #expect(device["source"] as? String == disk)
        #expect(device["pttype"] as? String == "gpt")
        #expect(device["size"] as? Int == 100 << 20)
        let parts = Self.partitions(device)
        #expect(parts.map { $0["number"] as? Int } == [1, 2, 3, 4])
        #expect(parts.map { $0["start"] as? Int } == [2048, 18432, 59392, 141312])
        #expect(parts.map { $0["partlabel"] as? String } == ["PReP", "ESP", "boot", "root"])
        #expect(parts.map { $0["prep"] as? Bool } == [true, false, false, false])
        #expect(parts[0]["type"] as? String == "9e1a2d38-c612-4316-aa26-8b49521e5a8b")
        #expect((parts[0]["partuuid"] as? String)?.count == 36)
        let payload = try #require(parts[0]["payload"] as? [String: Any])
        #expect(payload["machine"] as? String == "ppc" && payload["entry"] as? Int == 0x200074)
        #expect(parts.map { $0["fstype"] as? String } == [nil, "vfat", "ext4", "ext4"])
        #expect(parts[1]["label"] as? String == "ESP")
        #expect(parts[2]["uuid"] as? String == "11111111-2222-3333-4444-555555555555")
        let config = try #require(parts[2]["config"] as? [String: Any])
        #expect(config["config"] as? String == "/grub/grub.cfg")
        #expect(config["timeout"] as? Int == 3)
        let entry = try #require((config["entries"] as? [[String: Any]])?.first)
        #expect(entry["title"] as? String == "Test Linux")
        // The search names this partition's UUID: the kernel is on it.
        #expect((entry["kernel"] as? [String: Any])?["device"] is NSNull)
        #expect(parts[3]["config"] is NSNull)
    }

    @Test func mbrDiskWithActivePRePAndLogicalPartitions() throws {
        defer { cleanup() }
        let disk = dir + "/mbr.img"
        try Shell.run("truncate -s 64M \(disk) && sfdisk -q \(disk)", input: """
        label: dos
        start=2048, size=4M, type=41, bootable
        size=20M, type=83
        type=5
        size=12M, type=83
        type=83

        """)
        let layout = try Shell.run("sfdisk -d \(disk)")
        func start(_ n: Int) -> Int {
            let line = layout.split(separator: "\n").first { $0.hasPrefix("\(disk)\(n) ") }!
            return Int(line.split(separator: "start=")[1].split(separator: ",")[0].trimmingCharacters(in: .whitespaces))!
        }
        let logical = try ext4("logical", size: "12M", uuid: "aaaaaaaa-0000-0000-0000-000000000005", label: "L5",
                               files: ["/boot/grub/grub.cfg": "menuentry 'On a logical partition' { linux /boot/vmlinuz; }\n"])
        try place(logical, in: disk, at: start(5))
        try Shell.run("powerpc64-linux-gnu-gcc -m32 -nostdlib -static -Wl,-T,\(Shell.fixtures)/note.ld -o \(dir)/note.elf \(Shell.fixtures)/note.S")
        try place(dir + "/note.elf", in: disk, at: 2048)

        let p = try probe([disk])
        let device = try #require(Self.devices(p).first)
        #expect(device["pttype"] as? String == "dos")
        let parts = Self.partitions(device)
        #expect(parts.map { $0["number"] as? Int } == [1, 2, 3, 5, 6])
        #expect(parts.map { $0["type"] as? String } == ["0x41", "0x83", "0x05", "0x83", "0x83"])
        #expect(parts.map { $0["bootable"] as? Bool } == [true, false, false, false, false])
        #expect(parts[0]["prep"] as? Bool == true)
        #expect((parts[0]["payload"] as? [String: Any])?["class"] as? Int == 32)
        #expect(parts[3]["label"] as? String == "L5")
        let titles = ((parts[3]["config"] as? [String: Any])?["entries"] as? [[String: Any]])?.map { $0["title"] as? String }
        #expect(titles == ["On a logical partition"])
        // Partition 2 is an empty Linux partition: reported, not fatal.
        #expect(Self.messages(p).contains { $0.contains("partition 2") && $0.contains("is empty") })
    }

    @Test func bareFilesystemsExt4AndSquashfs() throws {
        defer { cleanup() }
        let image = try ext4("bare", size: "16M", uuid: "bbbbbbbb-0000-0000-0000-000000000001", label: "BARE",
                             files: ["/boot/grub/grub.cfg": "menuentry 'Bare' { linux /boot/vmlinuz quiet; }\n"])
        try FileManager.default.createDirectory(atPath: dir + "/sq/boot/grub", withIntermediateDirectories: true)
        try "menuentry 'Squashed' { linux /vmlinuz; }\n".write(toFile: dir + "/sq/boot/grub/grub.cfg", atomically: true, encoding: .utf8)
        try Shell.run("mksquashfs \(dir)/sq \(dir)/root.squashfs -quiet -noappend >/dev/null")
        let p = try probe([image, dir + "/root.squashfs"])
        let devices = Self.devices(p)
        #expect(devices.count == 2)
        #expect(devices[0]["pttype"] is NSNull)
        #expect(devices[0]["fstype"] as? String == "ext4" && devices[0]["label"] as? String == "BARE")
        #expect(Self.partitions(devices[0]).isEmpty)
        #expect(((devices[0]["config"] as? [String: Any])?["entries"] as? [[String: Any]])?.first?["title"] as? String == "Bare")
        #expect(devices[1]["fstype"] as? String == "squashfs")
        #expect(((devices[1]["config"] as? [String: Any])?["entries"] as? [[String: Any]])?.first?["title"] as? String == "Squashed")
    }

    @Test func btrfsWithSubvolumes() throws {
        defer { cleanup() }
        let image = dir + "/btrfs.img"
        let mnt = dir + "/setup"
        try Shell.run("""
        truncate -s 128M \(image) && mkfs.btrfs -q -L BTR \(image) && mkdir -p \(mnt) && mount -o loop \(image) \(mnt) &&
        btrfs -q subvolume create \(mnt)/@ && btrfs -q subvolume create \(mnt)/@home &&
        mkdir -p \(mnt)/@/boot/grub && echo "menuentry 'In @' { linux /boot/vmlinuz rootflags=subvol=@; }" > \(mnt)/@/boot/grub/grub.cfg;
        status=$?; umount \(mnt); exit $status
        """)
        let p = try probe([image])
        let device = try #require(Self.devices(p).first)
        #expect(device["fstype"] as? String == "btrfs" && device["label"] as? String == "BTR")
        let config = try #require(device["config"] as? [String: Any])
        #expect((config["entries"] as? [[String: Any]])?.first?["args"] as? String == "rootflags=subvol=@")
        // Booting must read the entry's files from the same subvolume.
        let mounts = try MountSet(base: dir + "/lib-mnt")
        let probed = try DiskProber(mounts: mounts).probe(image)
        #expect(probed.configRoot == "/@")
    }

    @Test func corruptPrimaryGPTUsesTheBackupAndSaysSo() throws {
        defer { cleanup() }
        let disk = dir + "/badgpt.img"
        try Shell.run("truncate -s 32M \(disk) && sfdisk -q \(disk)", input: "label: gpt\nsize=8M, name=one\nname=two\n")
        // Damage the primary header (its disk GUID, covered by the header CRC).
        try Shell.run("printf '\\xff\\xff\\xff\\xff' | dd of=\(disk) bs=1 seek=\(512 + 56) conv=notrunc status=none")
        let p = try probe([disk])
        let device = try #require(Self.devices(p).first)
        #expect(device["pttype"] as? String == "gpt")
        #expect(Self.partitions(device).map { $0["partlabel"] as? String } == ["one", "two"])
        #expect(Self.messages(p).contains { $0.contains("primary GPT header is corrupt") && $0.contains("backup") })
    }

    /// An MBR written byte by byte: overlapping partitions and one past the end of the disk.
    @Test func overlappingAndOversizedPartitions() throws {
        defer { cleanup() }
        let disk = dir + "/overlap.img"
        try Shell.run("""
        truncate -s 16M \(disk) && python3 - \(disk) <<'PY'
        import struct, sys
        entries = [(0x83, 2048, 8192), (0x83, 6144, 8192), (0x83, 20480, 1 << 20)]
        mbr = bytearray(512)
        for i, (t, start, size) in enumerate(entries):
            mbr[446 + 16*i: 462 + 16*i] = struct.pack('<B3sB3sII', 0, b'\\0\\0\\0', t, b'\\0\\0\\0', start, size)
        mbr[510:512] = b'\\x55\\xaa'
        with open(sys.argv[1], 'r+b') as f:
            f.write(mbr)
        PY
        """)
        let p = try probe([disk])
        #expect(p.status == 0)
        let messages = Self.messages(p)
        #expect(messages.contains { $0.contains("partitions 1 and 2 overlap") })
        #expect(messages.contains { $0.contains("partition 3") && $0.contains("past the end") })
    }

    /// Writes a GPT (both copies, valid CRCs) whose 128 entries are all the same Linux
    /// partition from sector FIRST to LAST: `python3 - IMAGE FIRST LAST`.
    static let gpt128 = #"""
import struct, sys, zlib, uuid
path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = 0
with open(path, 'r+b') as f:
    f.seek(0, 2); size = f.tell() // 512
    linux = uuid.UUID('0fc63daf-8483-4772-8e79-3d69d8477de4').bytes_le
    entries = b''.join(struct.pack('<16s16sQQQ72s', linux, uuid.uuid4().bytes_le, first, last, 0,
                                   'copy {}'.format(i + 1).encode('utf-16-le')) for i in range(128))
    ecrc = zlib.crc32(entries) & 0xffffffff
    def header(current, backup, table):
        h = struct.pack('<8sIIIIQQQQ16sQIII', b'EFI PART', 0x10000, 92, 0, 0, current, backup, 34, size - 34,
                        uuid.uuid4().bytes_le, table, 128, 128, ecrc)
        crc = zlib.crc32(h) & 0xffffffff
        return (h[:16] + struct.pack('<I', crc) + h[20:]).ljust(512, b'\0')
    mbr = bytearray(512)
    mbr[446:462] = struct.pack('<B3sB3sII', 0, b'\0\0\x02', 0xee, b'\xff\xff\xff', 1, min(size - 1, 0xffffffff))
    mbr[510:512] = b'\x55\xaa'
    f.seek(0); f.write(mbr); f.write(header(1, size - 1, 2)); f.write(entries)
    f.seek((size - 33) * 512); f.write(entries); f.write(header(size - 1, 1, size - 33))
"""#

    /// Issue 18: the kernel makes partition 1 of such a table and refuses the other 127
    /// (they overlap it). The probe used to wait for 127 device nodes that never came;
    /// now sysfs says at once which partitions exist, and the rest are named.
    @Test(.timeLimit(.minutes(1))) func partitionsTheKernelRefusesAreReportedAtOnce() throws {
        defer { cleanup() }
        let fs = try ext4("same", size: "24M", uuid: "18181818-1818-1818-1818-181818181818", label: "SAME",
                          files: ["/boot/grub/grub.cfg": Self.grubCfg])
        let disk = dir + "/gpt128.img"
        try Shell.run("truncate -s 26M \(disk) && python3 - \(disk) 2048 51199", input: Self.gpt128)
        try place(fs, in: disk, at: 2048)
        let p = try probe([disk])
        #expect(p.status == 0)
        let parts = Self.partitions(try #require(Self.devices(p).first))
        #expect(parts.count == 128)
        // Partition 1 is the kernel's, and its config is read.
        #expect(parts.first?["fstype"] as? String == "ext4")
        #expect(parts.first?["config"] as? [String: Any] != nil)
        #expect(parts.dropFirst().allSatisfy { ($0["config"] as? [String: Any]) == nil })
        let messages = Self.messages(p)
        #expect(messages.contains { $0.contains("the kernel refused partitions 2-128") }, "\(messages)")
        // 8128 overlapping pairs: a few named, the rest counted.
        #expect(messages.contains("partitions 1 and 2 overlap"))
        #expect(messages.contains("8120 more pairs of partitions overlap"))
        #expect(messages.count < 20)
    }

    @Test func zeroSizePRePIsReported() throws {
        defer { cleanup() }
        let disk = dir + "/zero.img"
        try Shell.run("""
        truncate -s 16M \(disk) && python3 - \(disk) <<'PY'
        import struct, sys
        entries = [(0x41, 2048, 0), (0x83, 4096, 8192)]
        mbr = bytearray(512)
        for i, (t, start, size) in enumerate(entries):
            mbr[446 + 16*i: 462 + 16*i] = struct.pack('<B3sB3sII', 0x80 if i == 0 else 0, b'\\0\\0\\0', t, b'\\0\\0\\0', start, size)
        mbr[510:512] = b'\\x55\\xaa'
        with open(sys.argv[1], 'r+b') as f:
            f.write(mbr)
        PY
        """)
        let p = try probe([disk])
        let parts = Self.partitions(try #require(Self.devices(p).first))
        #expect(parts.map { $0["number"] as? Int } == [1, 2])
        #expect(parts[0]["prep"] as? Bool == true && parts[0]["size"] as? Int == 0 && parts[0]["bootable"] as? Bool == true)
        #expect(Self.messages(p).contains { $0.contains("PReP partition of size 0") })
    }

    @Test func garbageAndEmptyPRePAndDamagedSuperblock() throws {
        defer { cleanup() }
        let disk = dir + "/garbage.img"
        try Shell.run("truncate -s 48M \(disk) && sfdisk -q \(disk)", input: "label: dos\nstart=2048, size=4M, type=41\nsize=16M, type=83\n")
        try Shell.run("head -c 4194304 /dev/urandom | dd of=\(disk) bs=512 seek=2048 conv=notrunc status=none")
        let fs = try ext4("damaged", size: "16M", uuid: "dddddddd-0000-0000-0000-000000000001", label: "DMG", files: ["/x": "x"])
        // Zero the ext4 superblock (at 1024 bytes) and its magic.
        try Shell.run("dd if=/dev/zero of=\(fs) bs=1024 seek=1 count=1 conv=notrunc status=none")
        try place(fs, in: disk, at: 2048 + 8192)
        let p = try probe([disk])
        #expect(p.status == 0)
        let parts = Self.partitions(try #require(Self.devices(p).first))
        #expect(parts.count == 2)
        #expect(parts[0]["prep"] as? Bool == true && parts[0]["payload"] is NSNull)
        #expect(parts[1]["fstype"] is NSNull)
        let messages = Self.messages(p)
        #expect(messages.contains { $0.contains("partition 1") && $0.contains("without a valid ELF payload") })
        #expect(messages.contains { $0.contains("partition 2") && $0.contains("none was recognised") })
    }

    @Test func missingPathsExitOneAndTheRestIsStillReported() throws {
        defer { cleanup() }
        let image = try ext4("ok", size: "8M", uuid: "eeeeeeee-0000-0000-0000-000000000001", label: "OK", files: [:])
        let p = try probe([dir + "/nope.img", image])
        #expect(p.status == 1)
        #expect(Self.devices(p).count == 1)
        #expect(Self.messages(p).contains { $0.contains("nope.img") })
        let notAnImage = try probe([dir])
        #expect(notAnImage.status == 1)
    }

    /// A signal in the middle of a probe still leaves nothing attached or mounted.
    @Test func signalsReleaseEverything() throws {
        defer { cleanup() }
        var images: [String] = []
        let first = try ext4("sig", size: "8M", uuid: "cccccccc-0000-0000-0000-000000000000", label: "S",
                             files: ["/boot/grub/grub.cfg": "menuentry x { linux /x; }\n"])
        for i in 0..<30 {
            try Shell.run("cp \(first) \(dir)/sig\(i).img")
            images.append("\(dir)/sig\(i).img")
        }
        let mountDir = dir + "/sigmnt"
        var interrupted = 0
        var outs: [String] = []
        for delay in ["0.03", "0.06", "0.1", "0.15"] {
            let out = try Shell.run("""
            \(Self.binary) probe --json --mount-dir \(mountDir) \(images.joined(separator: " ")) > /dev/null 2>&1 &
            pid=$!; sleep \(delay); kill -TERM $pid; wait $pid; echo "status=$?"
            """)
            // Either the probe finished first (0) or the signal ended it after cleaning up (143).
            #expect(out.contains("status=0") || out.contains("status=143"), "\(out)")
            if out.contains("status=143") { interrupted += 1 }
            outs.append(out)
            for image in images {
                #expect(try Shell.run("losetup -j '\(image)'").isEmpty)
            }
            #expect(try !Shell.run("cat /proc/mounts").contains(mountDir))
        }
        #expect(interrupted > 0, "no probe was interrupted: the test did not test signals \(outs)")
    }

    /// The device is detached while kexboot reads it: diagnostics or an error, never a
    /// crash, and nothing left mounted.
    @Test func deviceVanishingMidProbe() throws {
        defer { cleanup() }
        let disk = dir + "/vanish.img"
        try Shell.run("truncate -s 64M \(disk) && sfdisk -q \(disk)", input: "label: gpt\nsize=16M\nsize=16M\nsize=16M\n")
        let fs = try ext4("v", size: "16M", uuid: "ffffffff-0000-0000-0000-000000000001", label: "V",
                          files: ["/boot/grub/grub.cfg": "menuentry v { linux /v; }\n"])
        for n in 0..<3 { try place(fs, in: disk, at: 2048 + n * 32768) }
        let before = try Shell.run("sha256sum < \(disk)")
        let mountDir = dir + "/vmnt"
        var outcomes: Set<String> = []
        for delay in ["0", "0.005", "0.01", "0.02", "0.04"] {
            let out = try Shell.run("""
            loop=$(losetup -r -f --show \(disk)); name=${loop#/dev/}
            [ -e /sys/block/$name/${name}p1 ] || partx -a $loop
            \(Self.binary) probe --json --mount-dir \(mountDir) $loop > \(dir)/out.json 2>/dev/null & pid=$!
            sleep \(delay); partx -d $loop 2>/dev/null; losetup -d $loop 2>/dev/null
            wait $pid; echo "status=$?"
            """)
            let status = out.split(separator: "\n").last.map(String.init) ?? ""
            #expect(status == "status=0" || status == "status=1", "\(out)")
            outcomes.insert(status)
            let json = try Data(contentsOf: URL(fileURLWithPath: dir + "/out.json"))
            #expect((try? JSONSerialization.jsonObject(with: json)) != nil, "the output is not JSON")
            #expect(try !Shell.run("cat /proc/mounts").contains(mountDir))
        }
        #expect(try Shell.run("sha256sum < \(disk)") == before)
        #expect(try Shell.run("losetup -j \(disk)").isEmpty)
    }

    @Test func isoImagesAreReadWithoutMounting() throws {
        defer { cleanup() }
        // iso9660 made by xorriso: probed by libblkid, read by kexboot itself (this host's
        // kernel has no isofs at all).
        try FileManager.default.createDirectory(atPath: dir + "/iso/boot/grub", withIntermediateDirectories: true)
        try "menuentry 'Live' { linux /casper/vmlinuz boot=casper; }\n".write(toFile: dir + "/iso/boot/grub/grub.cfg", atomically: true, encoding: .utf8)
        try Shell.run("xorriso -as mkisofs -quiet -V LIVE_ISO -o \(dir)/live.iso \(dir)/iso 2>/dev/null")
        let p = try probe([dir + "/live.iso"])
        #expect(p.status == 0)
        let device = try #require(Self.devices(p).first)
        #expect(device["fstype"] as? String == "iso9660" && device["label"] as? String == "LIVE_ISO")
        #expect(((device["config"] as? [String: Any])?["entries"] as? [[String: Any]])?.first?["title"] as? String == "Live")
        #expect(try !Shell.run("cat /proc/mounts").contains(dir))
    }

    @Test func isoFilesOnAFilesystemAreListedWithTheirConfigs() throws {
        defer { cleanup() }
        try Shell.run("""
            mkdir -p \(dir)/live/boot/grub \(dir)/stick/ISOs
            echo "menuentry 'Fedora Live' { linux /images/pxeboot/vmlinuz root=live:CDLABEL=F39 rd.live.image; }" > \(dir)/live/boot/grub/grub.cfg
            xorriso -as mkisofs -quiet -R -V F39 -o "\(dir)/stick/ISOs/fedora live.iso" \(dir)/live 2>/dev/null
            head -c 40000 /dev/zero > \(dir)/stick/ISOs/zeros.iso
            """)
        let disk = try DiskImage.gptExt4(in: dir, name: "stick", label: "STICK", tree: dir + "/stick", megabytes: 8)
        let p = try probe([disk])
        let part = try #require((Self.devices(p).first?["partitions"] as? [[String: Any]])?.first)
        let isos = try #require(part["isos"] as? [[String: Any]])
        #expect(isos.count == 1)
        #expect(isos.first?["path"] as? String == "/ISOs/fedora live.iso")
        #expect(isos.first?["label"] as? String == "F39")
        let entry = ((isos.first?["config"] as? [String: Any])?["entries"] as? [[String: Any]])?.first
        #expect(entry?["args"] as? String == "root=live:CDLABEL=F39 rd.live.image iso-scan/filename=\"/ISOs/fedora live.iso\"")
        #expect(Self.messages(p).contains { $0.contains("/ISOs/zeros.iso is not an ISO 9660 image") })
    }
}
