import Foundation
import Testing
import KexbootCore
import KexbootTestSupport
@testable import KexbootOS

/// Kernel formats and inflating compressed ones (arm64's gzipped `vmlinuz`, EFI zboot),
/// with gzip from the system's own tool.
@Suite(.serialized) struct KernelImageTests {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "kx-kernel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func shell(_ command: String) throws {
        try Shell.run(command)
    }

    /// An arm64-looking `Image`: "ARM\x64" at 0x38, then random bytes.
    func armImage(_ size: Int) -> [UInt8] {
        var bytes = (0..<size).map { _ in UInt8.random(in: 0...255) }
        bytes.replaceSubrange(0x38..<0x3C, with: Array("ARM\u{64}".utf8))
        return bytes
    }

    func read(fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return out
    }

    @Test func formatsAreRecognised() {
        var bz = [UInt8](repeating: 0, count: 1024)
        bz.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        #expect(KernelImage.identify(bz, size: 1024).format == .bzImage)
        #expect(KernelImage.identify(armImage(256), size: 256).format == .image)
        #expect(KernelImage.identify(Array("\u{7F}ELF".utf8) + [2, 2, 1], size: 7).format == .elf)
        #expect(KernelImage.identify([0x1F, 0x8B, 8, 0], size: 100) == KernelImage(format: .gzip, payloadOffset: 0, payloadSize: 100))
        #expect(KernelImage.identify([0, 1, 2], size: 3).format == .unknown)
        #expect(KernelImage.identify(bz, size: 1024).needsInflating == false)
    }

    @Test func gzippedImageIsInflatedIntoMemory() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = armImage(3 << 20)
        try Data(image).write(to: URL(fileURLWithPath: dir + "/Image"))
        try shell("gzip -9 -c \(dir)/Image > \(dir)/vmlinuz")
        let plan = try Kexec.plan(kernel: dir + "/vmlinuz", initrds: [], devicetree: nil, commandLine: "")
        #expect(plan.kernelImage?.format == .gzip)
        #expect(plan.json["kernel_format"] == .string("gzip (inflated before loading)"))
        let fd = open(dir + "/vmlinuz", O_RDONLY)
        defer { close(fd) }
        let inflated = try Kexec.inflate(fd, plan.kernelImage!, path: dir + "/vmlinuz")
        defer { close(inflated) }
        #expect(read(fd: inflated) == image)
    }

    /// A zboot image laid out as the kernel's EFI stub writes it: "MZ", "zimg", payload
    /// offset and size, "gzip" at 24, the gzip payload later in the file.
    func zboot(_ payload: [UInt8], compression: String = "gzip", offset: Int = 4096, claimedSize: Int? = nil) -> [UInt8] {
        var head = [UInt8](repeating: 0, count: offset)
        head.replaceSubrange(0..<2, with: Array("MZ".utf8))
        head.replaceSubrange(4..<8, with: Array("zimg".utf8))
        func le32(_ v: Int, at o: Int) { for i in 0..<4 { head[o + i] = UInt8((v >> (8 * i)) & 0xFF) } }
        le32(offset, at: 8)
        le32(claimedSize ?? payload.count, at: 12)
        head.replaceSubrange(24..<(24 + compression.utf8.count), with: Array(compression.utf8))
        return head + payload + [UInt8](repeating: 0xAA, count: 512)  // the stub's tail
    }

    @Test func zbootPayloadIsInflatedAndBadOnesAreRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = armImage(1 << 20)
        try Data(image).write(to: URL(fileURLWithPath: dir + "/Image"))
        try shell("gzip -c \(dir)/Image > \(dir)/Image.gz")
        let gz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/Image.gz")))
        try Data(zboot(gz)).write(to: URL(fileURLWithPath: dir + "/zboot.efi"))
        let plan = try Kexec.plan(kernel: dir + "/zboot.efi", initrds: [], devicetree: nil, commandLine: "")
        #expect(plan.kernelImage?.description == "EFI zboot, gzip (inflated before loading)")
        let fd = open(dir + "/zboot.efi", O_RDONLY)
        defer { close(fd) }
        let inflated = try Kexec.inflate(fd, plan.kernelImage!, path: "zboot.efi")
        #expect(read(fd: inflated) == image)
        close(inflated)

        // zstd is named but not inflated: a clear refusal at planning time.
        try Data(zboot(gz, compression: "zstd")).write(to: URL(fileURLWithPath: dir + "/zstd.efi"))
        #expect { try Kexec.plan(kernel: dir + "/zstd.efi", initrds: [], devicetree: nil, commandLine: "") } throws: {
            ($0 as? KexbootError)?.message.contains("kexboot inflates gzip only") == true
        }
        // A payload that claims more than the file has.
        try Data(zboot(gz, claimedSize: 1 << 30)).write(to: URL(fileURLWithPath: dir + "/lying.efi"))
        #expect { try Kexec.plan(kernel: dir + "/lying.efi", initrds: [], devicetree: nil, commandLine: "") } throws: {
            ($0 as? KexbootError)?.message.contains("lies outside the file") == true
        }
    }

    @Test func damagedAndTruncatedGzipFailCleanly() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(armImage(1 << 20)).write(to: URL(fileURLWithPath: dir + "/Image"))
        try shell("gzip -c \(dir)/Image > \(dir)/ok.gz && head -c 200000 \(dir)/ok.gz > \(dir)/short.gz")
        var bad = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/ok.gz")))
        for i in stride(from: 100, to: 5000, by: 7) { bad[i] ^= 0x5A }
        try Data(bad).write(to: URL(fileURLWithPath: dir + "/bad.gz"))
        for (name, expected) in [("short.gz", "ends early"), ("bad.gz", "damaged")] {
            let path = dir + "/" + name
            let plan = try Kexec.plan(kernel: path, initrds: [], devicetree: nil, commandLine: "")
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            #expect { _ = try Kexec.inflate(fd, plan.kernelImage!, path: path) } throws: {
                ($0 as? KexbootError)?.message.contains(expected) == true
            }
        }
    }
}
