import Testing
import KexbootCore
@testable import KexbootConfig

@Suite struct ConfigLocatorTests {
    @Test func grubWinsOverBLSAndSyslinux() {
        let files = MemoryFileSource([
            "/boot/grub2/grub.cfg": "",
            "/loader/entries/a.conf": "",
            "/boot/extlinux/extlinux.conf": "",
        ])
        #expect(ConfigLocator.find(in: files) == .init(format: .grub, path: "/boot/grub2/grub.cfg"))
        #expect(ConfigLocator.find(in: files, format: .bls) == .init(format: .bls, path: "/loader/entries"))
        #expect(ConfigLocator.find(in: files, format: .syslinux) == .init(format: .syslinux, path: "/boot/extlinux/extlinux.conf"))
    }

    @Test func caseInsensitiveAndEFIDirectories() {
        let files = MemoryFileSource(["/efi/Debian/GRUB.CFG": "", "/EFI/BOOT/bootx64.efi": ""])
        #expect(ConfigLocator.find(in: files) == .init(format: .grub, path: "/efi/Debian/GRUB.CFG"))
        #expect(ConfigLocator.find(in: MemoryFileSource(["/boot/efi/EFI/fedora/grub.cfg": ""]))?.path == "/boot/efi/EFI/fedora/grub.cfg")
    }

    @Test func blsNeedsASnippet() {
        #expect(ConfigLocator.find(in: MemoryFileSource(["/loader/entries/readme.txt": ""])) == nil)
        #expect(ConfigLocator.find(in: MemoryFileSource(["/boot/loader/entries/x.conf": ""]))?.path == "/boot/loader/entries")
    }

    @Test(arguments: [
        ("/boot/grub/grub.cfg", "", ConfigFormat.grub), ("/x/custom.cfg", "#!ipxe\nboot", .ipxe),
        ("/pxelinux.cfg/default", "", .pxelinux), ("/boot/extlinux/extlinux.conf", "", .syslinux),
        ("/ISOLINUX/ISOLINUX.CFG", "", .syslinux), ("/etc/yaboot.conf", "", .yaboot), ("/kboot.conf", "", .kboot),
        ("/boot/kexboot.conf", "", .native), ("/loader/entries/a.conf", "", .bls),
    ])
    func detect(path: String, head: String, expected: ConfigFormat) {
        #expect(ConfigLocator.detect(path: path, head: Array(head.utf8)) == expected)
    }

    @Test func parserErrors() throws {
        let parser = ConfigParser(platform: testPlatform)
        #expect(throws: KexbootError.self) { try parser.parse(files: MemoryFileSource(["/etc/x": ""])) }
        #expect(throws: KexbootError.self) { try parser.parse(files: MemoryFileSource([:]), config: "/missing.cfg") }
        // An iPXE script is read (a bare `boot` has nothing to boot: a warning, no entries).
        let ipxe = try parser.parse(files: MemoryFileSource(["/x/custom.ipxe": "#!ipxe\nboot"]), config: "/x/custom.ipxe")
        #expect(ipxe.format == .ipxe && ipxe.entries.isEmpty && ipxe.has(.warning, "no image to boot"))
        let r = try parser.parse(files: MemoryFileSource(["/odd/name.txt": "menuentry a { linux /a; }"]), config: "odd/name.txt")
        #expect(r.format == .grub && r.config == "/odd/name.txt" && r.titles == ["a"])
    }
}

@Suite struct ConfigSniffTests {
    @Test(arguments: [
        ("# pxelinux\n\nDEFAULT install\nLABEL install\n", ConfigFormat.syslinux),
        ("  label x\n  kernel /v\n", .syslinux),
        ("set default=0\nmenuentry 'x' {\n", .grub),
        ("\nentry debian\n  kernel /v\n", .native),
        ("default=linux\nimage=/vmlinuz\n", .grub),
        ("", .grub),
    ])
    func aConfigWithANameThatSaysNothingIsKnownByItsFirstKeyword(text: String, format: ConfigFormat) {
        #expect(ConfigLocator.detect(path: "/tftpboot/boot.cfg", head: Array(text.utf8)) == format)
    }

    @Test func theNameStillComesFirst() {
        #expect(ConfigLocator.detect(path: "/boot/grub/grub.cfg", head: Array("DEFAULT x\n".utf8)) == .grub)
        #expect(ConfigLocator.detect(path: "/x/pxelinux.cfg/default", head: Array("menuentry\n".utf8)) == .pxelinux)
    }
}
