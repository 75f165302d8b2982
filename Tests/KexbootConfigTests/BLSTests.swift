import Testing
import KexbootCore
@testable import KexbootConfig

@Suite struct VersionCompareTests {
    @Test(arguments: [
        ("6.10.3", "6.9.0", 1), ("6.9", "6.10", -1), ("1.0", "1.0", 0), ("1.0", "1.0.1", -1),
        ("1.0a", "1.0", 1), ("1.0~rc1", "1.0", -1), ("1.0~rc1", "1.0~rc2", -1), ("1.0^git1", "1.0", 1),
        ("1.0^git1", "1.0.1", -1), ("1.01", "1.1", 0), ("2.a", "2.1", -1), ("5.14.0-362.el9", "5.14.0-70.el9", 1),
        ("0-rescue-abc", "6.5.6-300.fc39.x86_64", -1), ("fc39", "fc40", -1), ("1_0", "1.0", 0),
    ])
    func rpmOrder(a: String, b: String, expected: Int) {
        #expect(VersionCompare.compare(a, b) == expected)
        #expect(VersionCompare.compare(b, a) == -expected)
    }
}

@Suite struct BLSTests {
    @Test func snippetFields() {
        var diags: [Diagnostic] = []
        let e = BLSEntry.parse(Array("""
        # a comment
        title   Fedora Linux (6.5.6) 39
        version 6.5.6-300.fc39.x86_64
        linux /vmlinuz-6.5.6
        initrd /intel-ucode.img
        initrd /initramfs-6.5.6.img /extra.img
        options root=UUID=x ro
        options quiet
        devicetree /dtb/board.dtb
        sort-key fedora
        unknown-key whatever
        efi
        """.utf8), path: "/loader/entries/m-6.5.6.conf", diagnostics: &diags)
        #expect(e.id == "m-6.5.6")
        #expect(e.title == "Fedora Linux (6.5.6) 39")
        #expect(e.initrds == ["/intel-ucode.img", "/initramfs-6.5.6.img", "/extra.img"])
        #expect(e.initrdLines == ["/intel-ucode.img", "/initramfs-6.5.6.img /extra.img"])
        #expect(e.options == ["root=UUID=x ro", "quiet"])
        #expect(e.devicetree == "/dtb/board.dtb" && e.sortKey == "fedora")
        #expect(diags.count == 1 && diags[0].location?.line == 12)
    }

    static func entry(_ version: String, options: String = "ro") -> String {
        "title T \(version)\nversion \(version)\nlinux /vmlinuz-\(version)\ninitrd /initrd-\(version)\noptions \(options)\n"
    }

    @Test func standaloneOrderDefaultTimeoutAndGrubenv() {
        var env = "# GRUB Environment Block\nkernelopts=root=/dev/vda2 ro\n"
        env += String(repeating: "#", count: 1024 - env.utf8.count)
        let files = MemoryFileSource([
            "/loader/loader.conf": "timeout 4\ndefault m-6.9*\n",
            "/loader/entries/m-6.9.1.conf": Self.entry("6.9.1", options: "$kernelopts quiet"),
            "/loader/entries/m-6.10.0.conf": Self.entry("6.10.0"),
            "/loader/entries/m-6.1.0.conf": Self.entry("6.1.0"),
            "/loader/entries/m-0-rescue.conf": Self.entry("0-rescue-m"),
            "/loader/entries/notes.txt": "not a snippet",
            "/grub2/grubenv": env,
        ])
        let r = BLSConfig.parse(directory: "/loader/entries", files: files, platform: testPlatform)
        #expect(r.format == .bls && r.config == "/loader/entries")
        #expect(r.entries.map(\.id) == ["m-6.10.0", "m-6.9.1", "m-6.1.0", "m-0-rescue"])
        #expect(r.defaultIndex == 1)
        #expect(r.timeout == 4)
        #expect(r.entries[1].args == "root=/dev/vda2 ro quiet")
        #expect(r.entries[1].initrds == [.file(device: nil, path: "/initrd-6.9.1")])
    }

    @Test func sortKeyComesFirst() {
        let files = MemoryFileSource([
            "/loader/entries/a-6.10.conf": Self.entry("6.10"),
            "/loader/entries/b-5.0.conf": Self.entry("5.0") + "sort-key aaa\n",
        ])
        let r = BLSConfig.parse(directory: "/loader/entries", files: files, platform: testPlatform)
        #expect(r.entries.map(\.id) == ["b-5.0", "a-6.10"])
    }

    @Test func blscfgFromGrubWithSavedEntryAndBootPrefix() {
        var env = "# GRUB Environment Block\nsaved_entry=m-6.1.0\nkernelopts=root=/dev/sda2 ro\n"
        env += String(repeating: "#", count: 1024 - env.utf8.count)
        let r = grub("""
        load_env -f ${config_directory}/grubenv
        set default="${saved_entry}"
        insmod blscfg
        blscfg
        """, files: [
            "/boot/grub/grubenv": env,
            "/boot/loader/entries/m-6.1.0.conf": Self.entry("6.1.0", options: "$kernelopts"),
            "/boot/loader/entries/m-6.2.0.conf": Self.entry("6.2.0"),
            "/boot/vmlinuz-6.1.0": "k",
            "/boot/loader/entries/m-efi.conf": "title EFI thing\nefi /EFI/x.efi\n",
        ])
        #expect(r.entries.map(\.id) == ["m-6.2.0", "m-6.1.0"])
        #expect(r.defaultIndex == 1)
        #expect(r.entries[1].args == "root=/dev/sda2 ro")
        // Entries in /boot/loader/entries name files relative to /boot.
        #expect(r.entries[1].kernel == .file(device: nil, path: "/boot/vmlinuz-6.1.0"))
        #expect(r.entries[0].initrds == [.file(device: nil, path: "/boot/initrd-6.2.0")])
        #expect(r.has(.info, "'EFI thing' left out: it starts an EFI program"))
    }

    @Test func blscfgOnAnotherDeviceIsReported() {
        let r = grub("search --fs-uuid --set=root other\nblscfg\n", files: ["/loader/entries/a.conf": Self.entry("1")], uuid: "mine")
        #expect(r.entries.isEmpty)
        #expect(r.has(.warning, "on another device (uuid:other)"))
    }
}
