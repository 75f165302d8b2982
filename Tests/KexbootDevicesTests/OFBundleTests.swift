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
}
