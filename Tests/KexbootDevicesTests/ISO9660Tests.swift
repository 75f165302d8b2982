import KexbootTestSupport
import Foundation
import Testing
import KexbootCore
import KexbootOS
@testable import KexbootDevices

/// The ISO 9660 reader against images made by xorriso: Rock Ridge, Joliet-only and plain
/// ISO 9660 names, symlinks, deep trees, and damaged images.
@Suite(.serialized) struct ISO9660Tests {
    let dir: String

    init() throws {
        dir = try Shell.temporaryDirectory("iso")
        let tree = dir + "/tree"
        try Shell.run("""
            mkdir -p \(tree)/boot/grub \(tree)/isolinux \(tree)/EFI/BOOT \(tree)/a/b/c/d/e/f/g/h/i \(tree)/images/pxeboot
            printf 'set default=0\\nmenuentry "Live" { linux /images/pxeboot/vmlinuz quiet; }\\n' > \(tree)/boot/grub/grub.cfg
            head -c 300000 /dev/urandom > \(tree)/images/pxeboot/vmlinuz
            echo deep > \(tree)/a/b/c/d/e/f/g/h/i/file.txt
            echo mixed > \(tree)/EFI/BOOT/MixedCase-Long_Name.cfg
            ln -s ../images/pxeboot/vmlinuz \(tree)/isolinux/vmlinuz
            ln -s /boot/grub \(tree)/grublink
            for i in $(seq 1 150); do echo $i > \(tree)/isolinux/file-with-a-long-name-$i.txt; done
            """)
    }

    func make(_ name: String, _ options: String) throws -> String {
        let path = "\(dir)/\(name).iso"
        try Shell.run("xorriso -as mkisofs \(options) -V 'Fedora-WS-Live-39' -o \(path) \(dir)/tree 2>&1")
        return path
    }

    /// xorriso's own commands: its mkisofs emulation always writes Rock Ridge.
    func native(_ name: String, _ options: String) throws -> String {
        let path = "\(dir)/\(name).iso"
        try Shell.run("xorriso -outdev \(path) -volid LIVE \(options) -map \(dir)/tree / 2>&1")
        return path
    }

    func open(_ path: String) throws -> ISO9660 {
        let file = try ReadOnlyFile(path: path)
        #expect(ISO9660.looksLikeImage(file))
        return try ISO9660(file: file)
    }

    @Test func rockRidgeNamesSymlinksAndContents() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let iso = try open(make("rr", "-R -J"))
        #expect(iso.label == "Fedora-WS-Live-39")
        #expect(iso.list("/")?.sorted() == ["EFI", "a", "boot", "grublink", "images", "isolinux"])
        #expect(try String(decoding: iso.read("/boot/grub/grub.cfg"), as: UTF8.self).contains("menuentry \"Live\""))
        #expect(try iso.read("/EFI/BOOT/MixedCase-Long_Name.cfg") == Array("mixed\n".utf8))
        // Rock Ridge names are exact: no case folding.
        #expect(iso.info("/efi/boot/mixedcase-long_name.cfg") == nil)
        #expect(iso.findCaseInsensitive("/efi/boot/mixedcase-long_name.cfg") == "/EFI/BOOT/MixedCase-Long_Name.cfg")
        let kernel = try Data(contentsOf: URL(fileURLWithPath: dir + "/tree/images/pxeboot/vmlinuz"))
        #expect(try iso.read("/images/pxeboot/vmlinuz") == Array(kernel))
        #expect(try iso.read("/isolinux/vmlinuz") == Array(kernel))
        #expect(iso.info("/grublink/grub.cfg")?.kind == .file)
        #expect(iso.info("/isolinux/../boot/grub/grub.cfg")?.kind == .file)
        #expect(try iso.read("/a/b/c/d/e/f/g/h/i/file.txt") == Array("deep\n".utf8))
        #expect(iso.list("/isolinux")?.count == 151)
        #expect(iso.info("/images/pxeboot/vmlinuz")?.size == 300000)
        #expect(iso.info("/boot")?.kind == .directory)
        #expect(iso.info("/missing") == nil)
        #expect(throws: KexbootError.self) { try iso.read("/images/pxeboot/vmlinuz", limit: 1000) }
        // The extent is where the bytes are in the image file.
        let (offset, size) = try #require(iso.extent("/images/pxeboot/vmlinuz"))
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir + "/rr.iso"))
        #expect(Array(whole[Int(offset)..<Int(offset + size)]) == Array(kernel))
    }

    @Test func jolietAndPlainNames() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let joliet = try open(native("joliet", "-rockridge off -joliet on"))
        #expect(joliet.list("/EFI/BOOT") == ["MixedCase-Long_Name.cfg"])
        #expect(try joliet.read("/boot/grub/grub.cfg").count > 10)
        let plain = try open(native("plain", "-rockridge off -joliet off"))
        // 8.3 upper-case names, looked up case-insensitively, without the ";1".
        #expect(plain.list("/BOOT/GRUB") == ["GRUB.CFG"])
        #expect(try plain.read("/boot/grub/grub.cfg").count > 10)
        #expect(plain.info("/images/pxeboot/vmlinuz")?.size == 300000)
    }

    @Test func damagedImagesFailCleanly() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = try make("good", "-R")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        // Not an ISO at all.
        try Data(repeating: 0, count: 64 << 10).write(to: URL(fileURLWithPath: dir + "/zero.iso"))
        #expect(!ISO9660.looksLikeImage(try ReadOnlyFile(path: dir + "/zero.iso")))
        #expect(throws: KexbootError.self) { try ISO9660(file: ReadOnlyFile(path: dir + "/zero.iso")) }
        // Truncated after the volume descriptors: directories cannot be read.
        try bytes.prefix(18 * 2048).write(to: URL(fileURLWithPath: dir + "/short.iso"))
        let short = try ISO9660(file: ReadOnlyFile(path: dir + "/short.iso"))
        #expect(short.info("/boot/grub/grub.cfg") == nil)
        // Random bytes over every directory sector: lookups fail or return garbage names,
        // but never crash or loop.
        var corrupt = [UInt8](bytes)
        var rng = SystemRandomNumberGenerator()
        for block in 19..<40 { for i in 0..<2048 where i % 7 == 0 { corrupt[block * 2048 + i] = UInt8.random(in: 0...255, using: &rng) } }
        try Data(corrupt).write(to: URL(fileURLWithPath: dir + "/corrupt.iso"))
        if let iso = try? ISO9660(file: ReadOnlyFile(path: dir + "/corrupt.iso")) {
            for path in ["/", "/boot", "/boot/grub/grub.cfg", "/isolinux", "/a/b/c"] {
                _ = iso.info(path)
                _ = iso.list(path)
                _ = try? iso.read(path)
            }
        }
        // A symlink loop ends with an error.
        try Shell.run("mkdir -p \(dir)/loop && ln -s b \(dir)/loop/a && ln -s a \(dir)/loop/b && xorriso -as mkisofs -R -o \(dir)/loop.iso \(dir)/loop 2>&1")
        let loop = try ISO9660(file: ReadOnlyFile(path: dir + "/loop.iso"))
        #expect(loop.info("/a") == nil)
        #expect(throws: KexbootError.self) { try loop.read("/a") }
    }

    /// Block numbers and sizes at their 32-bit maximum, in a hand-made image: a root and
    /// a directory beyond the image, a file of 4 GiB - 1 at block 0xffffffff. Errors
    /// (or nothing found), never a trap in `extent * 2048` or `Int(size)`.
    @Test func extentsAndSizesAtTheirMaximum() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func record(_ name: UInt8, extent: UInt32, size: UInt32, directory: Bool) -> [UInt8] {
            var r = [UInt8](repeating: 0, count: 34)
            r[0] = 34
            for i in 0..<4 {
                r[2 + i] = UInt8(truncatingIfNeeded: extent >> (8 * UInt32(i))); r[9 - i] = r[2 + i]
                r[10 + i] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(i))); r[17 - i] = r[10 + i]
            }
            r[25] = directory ? 2 : 0
            r[32] = 1
            r[33] = name
            return r
        }
        func image(root: [UInt8], directory: [UInt8]) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: 19 * 2048)
            b[16 * 2048] = 1
            b[17 * 2048] = 255
            for block in [16, 17] {
                b.replaceSubrange((block * 2048 + 1)..<(block * 2048 + 6), with: Array("CD001".utf8))
                b[block * 2048 + 6] = 1
            }
            b[16 * 2048 + 80] = 19; b[16 * 2048 + 128] = 0x00; b[16 * 2048 + 129] = 0x08  // 19 blocks of 2048
            b.replaceSubrange((16 * 2048 + 156)..<(16 * 2048 + 190), with: root)
            b.replaceSubrange((18 * 2048)..<(18 * 2048 + directory.count), with: directory)
            return b
        }
        let max = UInt32.max
        // The root directory past the end of the image (and of any image).
        try Data(image(root: record(0, extent: max, size: 2048, directory: true), directory: [])).write(to: URL(fileURLWithPath: dir + "/far.iso"))
        let far = try ISO9660(file: ReadOnlyFile(path: dir + "/far.iso"))
        #expect(far.list("/") == nil && far.info("/a") == nil)
        #expect(throws: KexbootError.self) { try far.read("/a") }
        // A root of 4 GiB - 1 bytes.
        try Data(image(root: record(0, extent: max, size: max, directory: true), directory: [])).write(to: URL(fileURLWithPath: dir + "/huge.iso"))
        #expect(try ISO9660(file: ReadOnlyFile(path: dir + "/huge.iso")).list("/") == nil)
        // In a good root: a file and a directory at block 0xffffffff, 4 GiB - 1 bytes long.
        let entries = record(0, extent: 18, size: 2048, directory: true) + record(1, extent: 18, size: 2048, directory: true)
            + record(UInt8(ascii: "F"), extent: max, size: max, directory: false) + record(UInt8(ascii: "D"), extent: max, size: max, directory: true)
            + record(UInt8(ascii: "E"), extent: max, size: 2048, directory: true)
        try Data(image(root: record(0, extent: 18, size: 2048, directory: true), directory: entries)).write(to: URL(fileURLWithPath: dir + "/edge.iso"))
        let edge = try ISO9660(file: ReadOnlyFile(path: dir + "/edge.iso"))
        #expect(edge.list("/") == ["F", "D", "E"])
        #expect(edge.info("/F")?.size == Int(max))
        #expect(edge.extent("/F")! == (UInt64(max) * 2048, UInt64(max)))
        #expect { try edge.read("/F", limit: 1 << 20) } throws: { ($0 as? KexbootError)?.code == .limitExceeded }
        #expect { try edge.read("/F", limit: .max) } throws: { ($0 as? KexbootError)?.code == .ioError }
        #expect(edge.list("/D") == nil && edge.list("/E") == nil && edge.info("/E/x") == nil)
    }
}
