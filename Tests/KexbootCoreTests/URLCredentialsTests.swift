import Testing
import KexbootCore

/// Issue 18: a password in a URL is shown nowhere (`URLText.redactingCredentials`), and a
/// URL sent back as it was shown gets its password again (`restoringCredentials`).
@Suite struct URLCredentialsTests {
    @Test(arguments: [
        ("http://user:password@host/boot/grub.cfg", "http://user:***@host/boot/grub.cfg"),
        // A name alone is often a token.
        ("https://ghp_token123@host/x", "https://***@host/x"),
        ("ftp://anonymous:@ftp.example/pub", "ftp://anonymous:***@ftp.example/pub"),
        ("http://u:p@[fe80::1]:8080/k", "http://u:***@[fe80::1]:8080/k"),
        // libcurl takes the last "@" as the end of the user information.
        ("http://u:p@ss@host/k", "http://u:***@host/k"),
        ("http://u:it's@host", "http://u:***@host"),
        ("tftp://u:p@10.0.2.2", "tftp://u:***@10.0.2.2"),
        ("HTTPS://Admin:Pw@Host:443?x=1", "HTTPS://Admin:***@Host:443?x=1"),
        // An "@" after the authority is no user information.
        ("http://host/~user@example/k", "http://host/~user@example/k"),
        ("http://host?to=a@b", "http://host?to=a@b"),
        ("mailto:someone@example.net", "mailto:someone@example.net"),
        ("root@host:/srv/boot", "root@host:/srv/boot"),
        ("nothing to see", "nothing to see"),
        ("", ""),
        // In messages and JSON lines: every URL, and nothing around them.
        ("url1: 2 boot options from http://a:b@h/c and https://c:d@i/e: ok",
         "url1: 2 boot options from http://a:***@h/c and https://c:***@i/e: ok"),
        (#"{"disk":"http://user:pw@h","config":"tftp://x:y@t/p","mail":"a@b"}"#,
         #"{"disk":"http://user:***@h","config":"tftp://x:***@t/p","mail":"a@b"}"#),
        ("ip=dhcp url=http://u:p@h/x quiet", "ip=dhcp url=http://u:***@h/x quiet"),
        ("cannot boot \"custom: http://u:p@h/k\": failed", "cannot boot \"custom: http://u:***@h/k\": failed"),
        ("ünïcode ✓ http://ü:p✓@h/ ✓", "ünïcode ✓ http://ü:***@h/ ✓"),
    ])
    func passwordsAreHidden(_ text: String, _ shown: String) {
        #expect(URLText.redactingCredentials(text) == shown)
        // Hiding twice changes nothing more.
        #expect(URLText.redactingCredentials(shown) == shown)
    }

    @Test func shownURLsGetTheirPasswordsBack() {
        let known = ["http://user:pw@host:8080/boot/vmlinuz", "tftp://tok@10.0.2.2/initrd", "http://other@host/k"]
            .flatMap(URLText.credentialedOrigins(in:))
        #expect(known.map(\.shown) == ["http://user:***@host:8080", "tftp://***@10.0.2.2", "http://***@host"])
        func restored(_ text: String) -> String { URLText.restoringCredentials(in: text, from: known) }
        #expect(restored("http://user:***@host:8080/boot/vmlinuz") == "http://user:pw@host:8080/boot/vmlinuz")
        #expect(restored("http://user:***@host:8080/other-kernel") == "http://user:pw@host:8080/other-kernel")
        #expect(restored("root=/dev/vda url=tftp://***@10.0.2.2/x single") == "root=/dev/vda url=tftp://tok@10.0.2.2/x single")
        // Only the same scheme, user, host and port: no password goes to another server.
        #expect(restored("http://user:***@host:8081/k") == "http://user:***@host:8081/k")
        #expect(restored("http://user:***@host:8080.evil.example/k") == "http://user:***@host:8080.evil.example/k")
        #expect(restored("https://user:***@host:8080/k") == "https://user:***@host:8080/k")
        #expect(restored("/boot/vmlinuz") == "/boot/vmlinuz")
    }

    @Test(arguments: [
        ("1073741824", Int64(1) << 30), ("1G", Int64(1) << 30), ("512K", Int64(512) << 10), ("64M", Int64(64) << 20),
        ("2GiB", Int64(2) << 30), ("100mb", Int64(100) << 20), (" 7 ", Int64(7)), ("1T", Int64(1) << 40), ("10B", Int64(10)),
    ])
    func sizesAreRead(_ text: String, _ bytes: Int64) {
        #expect(ByteCount(parsing: text)?.bytes == bytes)
    }

    @Test(arguments: ["", "0", "-1", "1.5G", "G", "1X", "1 G G", "99999999999999999999", "9000000000G", "+5"])
    func badSizesAreRefused(_ text: String) {
        #expect(ByteCount(parsing: text) == nil)
    }

    @Test func sizesAreShownInTheLargestUnitThatDividesThem() {
        #expect(ByteCount(1 << 30).description == "1G")
        #expect(ByteCount(1536 << 20).description == "1536M")
        #expect(ByteCount(1000).description == "1000")
        #expect(ByteCount(262144).description == "256K")
    }

    @Test func sectorCountsFromAPartitionTableNeverTrap() {
        #expect(ByteCount.ofSectors(2048) == 1 << 20)
        #expect(ByteCount.ofSectors(UInt64.max / 512) == UInt64.max / 512 * 512)
        #expect(ByteCount.ofSectors(UInt64.max / 512 + 1) == nil)
        #expect(ByteCount.ofSectors(.max) == nil)
    }
}
