import KexbootTestSupport
import Foundation
import Testing
import KexbootCore
import KexbootOS
@testable import KexbootDevices

/// The shim's handoff bundle as kexboot writes it: the annotated golden bundle byte for
/// byte, and the same bytes as the reference writer (mkbundle.py) for a real MBR disk.
@Suite struct OFBundleTests {
    static let ofshimTests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ofshim").path
    static let bootpath = "/vdevice/v-scsi@71000003/disk@8000000000000000"

    @Test func goldenBundle() throws {
        let text = try String(contentsOfFile: Self.ofshimTests + "/golden-bundle.txt", encoding: .utf8)
        let hex = text.split(separator: "\n").map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
            .joined().filter(\.isHexDigit)
        var want: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            want.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        let got = OFBundle.build(client: Array("CLIENT!!".utf8), args: "quiet", bootpath: Self.bootpath, blockSize: 512, diskBlocks: 16384,
                                 partitions: [OFBundle.Partition(number: 1, type: 0x41, start: 2048, count: 1)],
                                 extents: [(2048, Array((0..<512).map { UInt8($0 & 0xFF) }))])
        #expect(got == want)
    }

    @Test func sameBytesAsTheReferenceWriter() throws {
        let dir = try Shell.temporaryDirectory("bundle")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // An MBR disk: a PReP partition and a Linux one, random contents.
        try Shell.run("""
            truncate -s 8M \(dir)/disk.img
            printf 'label: dos\\nstart=2048, size=2048, type=41, bootable\\nstart=4096, size=4096, type=83\\n' | sfdisk -q \(dir)/disk.img
            dd if=/dev/urandom of=\(dir)/disk.img bs=512 seek=2048 count=6144 conv=notrunc status=none
            head -c 5000 /dev/urandom > \(dir)/client.elf
            python3 \(Self.ofshimTests)/mkbundle.py -o \(dir)/ref.bundle --client \(dir)/client.elf --args 'a b' --bootpath \(Self.bootpath) --disk \(dir)/disk.img --partitions 1 2>/dev/null
            """)
        let client = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/client.elf")))
        let got = try OFBundle.fromDisk(try ReadOnlyFile(path: dir + "/disk.img"), client: client, args: "a b",
                                        bootpath: Self.bootpath, chosen: [1])
        #expect(got == [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/ref.bundle"))))
        // A partition the disk does not have, and a disk without an MBR.
        #expect(throws: KexbootError.self) {
            try OFBundle.fromDisk(try ReadOnlyFile(path: dir + "/disk.img"), client: client, args: nil, bootpath: nil, chosen: [3])
        }
        #expect(throws: KexbootError.self) {
            try OFBundle.fromDisk(try ReadOnlyFile(path: dir + "/client.elf"), client: client, args: nil, bootpath: nil)
        }
    }

    /// The boot disk's OF path from a sysfs laid out as Linux lays it out on pseries: a
    /// virtio disk has its own devspec; a SCSI disk on ibmvscsi takes the adapter's and its
    /// SRP LUN (0x8000 | target << 8 | channel << 5 | lun, in the top 16 bits).
    @Test func devspecFromSysfs() throws {
        let fm = FileManager.default
        // The real path: the links below must resolve under it even when TMPDIR is a symlink.
        let made = NSTemporaryDirectory() + "kx-devspec-\(UUID().uuidString)"
        try fm.createDirectory(atPath: made, withIntermediateDirectories: true)
        let sys = URL(fileURLWithPath: made).resolvingSymlinksInPath().path
        defer { try? fm.removeItem(atPath: sys) }
        func file(_ path: String, _ text: String) throws {
            try fm.createDirectory(atPath: (sys + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            fm.createFile(atPath: sys + path, contents: Data(text.utf8))
        }
        func link(_ disk: String, _ target: String) throws {
            try fm.createDirectory(atPath: sys + "/class/block/\(disk)", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: sys + target, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: sys + "/class/block/\(disk)/device", withDestinationPath: sys + target)
        }
        try file("/devices/vio/71000003/devspec", "/vdevice/v-scsi@71000003\n")
        try link("sda", "/devices/vio/71000003/host0/target0:0:0/0:0:0:0")
        try link("sdc", "/devices/vio/71000003/host0/target0:0:2/0:1:2:3")
        try file("/devices/pci0000:00/0000:00:03.0/devspec", "/pci@800000020000000/scsi@3\n")
        try link("vda", "/devices/pci0000:00/0000:00:03.0")
        try file("/devices/vio/30000002/devspec", "/vdevice/vfc-client@30000002\n")
        try link("sdz", "/devices/vio/30000002/host1/rport-1:0-0/target1:0:0/1:0:0:0")
        try link("sdx", "/devices/platform/host2/target2:0:0/2:0:0:0")

        #expect(try OFBundle.devspec("/dev/sda", sysfs: sys) == "/vdevice/v-scsi@71000003/disk@8000000000000000")
        #expect(try OFBundle.devspec("/dev/sdc", sysfs: sys) == "/vdevice/v-scsi@71000003/disk@8223000000000000")
        #expect(try OFBundle.devspec("/dev/vda", sysfs: sys) == "/pci@800000020000000/scsi@3")
        // Fibre Channel and disks with no adapter devspec: no path kexboot can vouch for.
        #expect(throws: KexbootError.self) { try OFBundle.devspec("/dev/sdz", sysfs: sys) }
        #expect(throws: KexbootError.self) { try OFBundle.devspec("/dev/sdx", sysfs: sys) }
        #expect(throws: KexbootError.self) { try OFBundle.devspec("/dev/nope", sysfs: sys) }
    }
}
