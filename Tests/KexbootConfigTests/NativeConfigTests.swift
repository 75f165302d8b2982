import Testing
import KexbootCore
@testable import KexbootConfig

@Suite struct NativeConfigTests {
    @Test func entriesDefaultsAndChecksums() throws {
        let digest = String(repeating: "ab", count: 32)
        let r = try ConfigParser(platform: testPlatform).parse(files: MemoryFileSource(["/boot/kexboot.conf": """
        # written by hand
        default rescue
        timeout 7

        entry debian
          title   Debian GNU/Linux
          kernel  vmlinuz-6.1      # relative to this file
          initrd  /boot/ucode.img
          initrd  initrd.img-6.1
          args    root=UUID=6f1c ro
          args    quiet   splash
          sha256  vmlinuz-6.1 \(digest.uppercased())
        entry rescue
          kernel /boot/vmlinuz-6.1
          devicetree dtbs/board.dtb
          args single
        entry broken
          title no kernel here
        entry bad
          kernel /k
          sha256 /k 1234
          sha256 /other \(digest)
          frob x
        """]))
        #expect(r.format == .native && r.config == "/boot/kexboot.conf")
        #expect(r.entries.map(\.id) == ["debian", "rescue", "bad"])
        #expect(r.defaultIndex == 1 && r.timeout == 7)
        let debian = r.entries[0]
        #expect(debian.title == "Debian GNU/Linux" && debian.path == ["Debian GNU/Linux"])
        #expect(debian.kernel == .file(device: nil, path: "/boot/vmlinuz-6.1"))
        #expect(debian.initrds.map(\.path) == ["/boot/ucode.img", "/boot/initrd.img-6.1"])
        #expect(debian.args == "root=UUID=6f1c ro quiet splash")
        #expect(debian.checksums == ["/boot/vmlinuz-6.1": digest])
        #expect(debian.json["sha256"] == .object([("/boot/vmlinuz-6.1", .string(digest))]))
        #expect(r.entries[1].json["sha256"] == nil)
        #expect(r.entries[1].devicetree?.path == "/boot/dtbs/board.dtb")
        #expect(r.has(.warning, "'broken' has no kernel"))
        #expect(r.has(.warning, "sha256 takes a path and 64 hex digits"))
        #expect(r.has(.warning, "sha256 for /other"))
        #expect(r.has(.warning, "unknown keyword 'frob'"))
    }
}
