import Foundation
import KexbootCore
import KexbootNet
import KexbootOS
import KexbootTestSupport
import Testing

/// The libcurl fetcher against real servers on loopback: python3 http.server (plain and
/// TLS with a CA made by openssl here), tftpd-hpa, vsftpd, file://.
@Suite(.serialized) struct FetcherTests {
    let dir: String
    let root: String
    let payload: [UInt8]

    init() throws {
        dir = try Shell.temporaryDirectory("fetch")
        root = dir + "/www"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // 3 MiB of varied bytes: a kernel-sized file that is not all zeros.
        var bytes = [UInt8](repeating: 0, count: 3 << 20)
        var x: UInt32 = 2463534242
        for i in bytes.indices { x ^= x << 13; x ^= x >> 17; x ^= x << 5; bytes[i] = UInt8(truncatingIfNeeded: x) }
        payload = bytes
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/vmlinuz"))
        try "menu\n".write(toFile: root + "/small.cfg", atomically: true, encoding: .utf8)
        _ = chmod(root, 0o755)
    }

    var quick: Fetcher {
        var settings = FetchSettings()
        settings.connectTimeout = 3
        settings.lowSpeedTime = 2
        settings.retries = 2
        settings.backoff = 0.05
        return Fetcher(settings: settings)
    }

    func contents(_ path: String) -> [UInt8] { [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()) }

    func failure(_ body: () throws -> Void) -> KexbootError? {
        do { try body() } catch let e as KexbootError { return e } catch { return KexbootError(.ioError, "\(error)") }
        return nil
    }

    @Test func httpStreamsTheFileWithProgress() throws {
        let server = try TestServer.http(root: root)
        var reports: [(Int64, Int64?)] = []
        let fetched = try quick.fetch("http://127.0.0.1:\(server.port)/vmlinuz", to: dir + "/out") { bytes, total in
            reports.append((bytes, total))
            return true
        }
        #expect(fetched.bytes == Int64(payload.count))
        #expect(contents(dir + "/out") == payload)
        #expect(reports.contains { $0.1 == Int64(payload.count) })
        #expect(reports.last?.0 == Int64(payload.count))
    }

    @Test func httpFailuresAreClearAndBounded() throws {
        let server = try TestServer.http(root: root)
        let base = "http://127.0.0.1:\(server.port)"
        let missing = failure { try quick.fetch(base + "/nothing-here", to: dir + "/out") }
        #expect(missing?.code == .notFound)
        #expect(missing?.message.contains("HTTP 404") == true)
        let loop = failure { try quick.fetch(base + "/_loop", to: dir + "/out") }
        #expect(loop?.message.contains("redirects") == true)
        let truncated = failure { try quick.fetch(base + "/_truncated", to: dir + "/out") }
        #expect(truncated?.code == .ioError)
        var once = quick
        once.settings.retries = 0
        // The server holds the connection for an hour: only the stall check ends this.
        let stalled = failure { try once.fetch(base + "/_stall", to: dir + "/out") }
        #expect(stalled?.message.contains("timed out") == true)
        var small = quick
        small.settings.maxSize = 1000
        let big = failure { try small.fetch(base + "/vmlinuz", to: dir + "/out") }
        #expect(big?.code == .limitExceeded)
        // The truncated attempts were retried: the log shows three requests.
        #expect(server.logText.components(separatedBy: "GET /_truncated").count - 1 == 3)
        #expect(server.logText.components(separatedBy: "GET /nothing-here").count - 1 == 1)
    }

    @Test func transientErrorsAreRetriedAndRedirectsFollowed() throws {
        let server = try TestServer.http(root: root)
        let base = "http://127.0.0.1:\(server.port)"
        let fetched = try quick.fetch(base + "/_flaky/vmlinuz", to: dir + "/out")
        #expect(fetched.attempts == 3)
        #expect(contents(dir + "/out") == payload)
        let redirected = try quick.fetch(base + "/_redirect?to=/small.cfg", to: dir + "/small")
        #expect(redirected.effectiveURL.hasSuffix("/small.cfg"))
        #expect(try quick.fetchBytes(base + "/small.cfg") == Array("menu\n".utf8))
        var once = quick
        once.settings.retries = 0
        #expect(failure { try once.fetch(base + "/_flaky/small.cfg", to: dir + "/out") }?.message.contains("503") == true)
    }

    @Test func httpsChecksCertificates() throws {
        let ca = try TestCA(in: dir)
        let good = try ca.issue(for: "127.0.0.1", name: "good")
        let server = try TestServer.http(root: root, tls: good)
        let url = "https://127.0.0.1:\(server.port)/vmlinuz"
        // The system bundle does not know our CA.
        let unknown = failure { try quick.fetch(url, to: dir + "/out") }
        #expect(unknown?.message.contains("certificate") == true)
        var trusting = quick
        trusting.settings.caFile = try CABundle.combine(extra: ca.certificate, output: dir + "/bundle.crt")
        try trusting.fetch(url, to: dir + "/out")
        #expect(contents(dir + "/out") == payload)
        // The combined bundle still holds the system's CAs.
        #expect(contents(dir + "/bundle.crt").count > contents(ca.certificate).count + 1000)
        // Same CA, certificate for another name: refused.
        let other = try ca.issue(for: "boot.example", name: "other")
        let wrongName = try TestServer.http(root: root, tls: other)
        let mismatch = failure { try trusting.fetch("https://127.0.0.1:\(wrongName.port)/vmlinuz", to: dir + "/out") }
        #expect(mismatch?.message.contains("certificate") == true)
        // Only a host marked insecure by name skips the check.
        var insecure = quick
        insecure.settings.insecureHosts = ["127.0.0.1"]
        try insecure.fetch("https://127.0.0.1:\(wrongName.port)/small.cfg", to: dir + "/out")
        insecure.settings.insecureHosts = ["localhost"]
        #expect(failure { try insecure.fetch("https://127.0.0.1:\(wrongName.port)/small.cfg", to: dir + "/out") } != nil)
        #expect(failure { _ = try CABundle.combine(extra: root + "/small.cfg", output: dir + "/b2.crt") }?.message.contains("no PEM") == true)
    }

    /// A DHCPv6 boot-file URL names its server by an IPv6 literal.
    @Test func ipv6LiteralURLs() throws {
        let http = try TestServer.http(root: root, bind: "::1")
        try quick.fetch("http://[::1]:\(http.port)/vmlinuz", to: dir + "/out6")
        #expect(contents(dir + "/out6") == payload)
        let tftp = try TestServer.tftp(root: root, address: "[::1]")
        try quick.fetch("tftp://[::1]:\(tftp.port)/vmlinuz", to: dir + "/out6t")
        #expect(contents(dir + "/out6t") == payload)
    }

    @Test func tftpNegotiatesBlockSize() throws {
        let server = try TestServer.tftp(root: root)
        let url = "tftp://127.0.0.1:\(server.port)/vmlinuz"
        var reports: [Int64?] = []
        let before = udpDatagrams()
        try quick.fetch(url, to: dir + "/out") { _, total in reports.append(total); return true }
        let datagrams = udpDatagrams() - before
        #expect(contents(dir + "/out") == payload)
        // tsize told us the length up front.
        #expect(reports.contains(Int64(payload.count)))
        // 1468-byte blocks were granted: 3 MiB in about 2,150 DATA packets (and as many
        // ACKs), where 512-byte blocks need 6,144 DATA packets alone.
        #expect(datagrams > 2 * 2_100 && datagrams < 6_000)
        let missing = failure { try quick.fetch("tftp://127.0.0.1:\(server.port)/nope", to: dir + "/out") }
        #expect(missing?.code == .notFound)
    }

    @Test func ftpFromVsftpd() throws {
        let server = try TestServer.ftp(root: root)
        defer { server.stop() }
        var reports: [Int64?] = []
        try quick.fetch("ftp://127.0.0.1:\(server.port)/vmlinuz", to: dir + "/out") { _, total in reports.append(total); return true }
        #expect(contents(dir + "/out") == payload)
        // SIZE told us the length up front.
        #expect(reports.contains(Int64(payload.count)))
        let missing = failure { try quick.fetch("ftp://127.0.0.1:\(server.port)/nope", to: dir + "/out") }
        #expect(missing?.code == .notFound)
        // Nobody listening: refused, after the bounded retries, not a hang.
        server.stop()
        let refused = failure { try quick.fetch("ftp://127.0.0.1:\(server.port)/vmlinuz", to: dir + "/out") }
        #expect(refused != nil && refused?.code != .notFound)
    }

    /// Through a link that delays everything 10 ms each way and drops 3% of datagrams each
    /// way (TFTP) — TFTP and HTTP still deliver the file byte for byte.
    @Test func lossyAndSlowLinksStillDeliver() throws {
        let file = Array(payload.prefix(150_000))
        try Data(file).write(to: URL(fileURLWithPath: root + "/part"))
        let tftp = try TestServer.tftp(root: root)
        let lossy = try TestServer.impaired("udp", to: tftp.port, delay: 10, loss: 3, log: dir + "/udp.log")
        try quick.fetch("tftp://127.0.0.1:\(lossy.port)/part", to: dir + "/out-tftp")
        #expect(contents(dir + "/out-tftp") == file)
        let http = try TestServer.http(root: root)
        let slow = try TestServer.impaired("tcp", to: http.port, delay: 10, log: dir + "/tcp.log")
        try quick.fetch("http://127.0.0.1:\(slow.port)/part", to: dir + "/out-http")
        #expect(contents(dir + "/out-http") == file)
    }

    /// UDP datagrams this host has received, from /proc/net/snmp.
    func udpDatagrams() -> Int {
        let text = (try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("Udp:") }
        guard lines.count == 2 else { return 0 }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        guard let i = names.firstIndex(of: "InDatagrams"), i < values.count else { return 0 }
        return Int(values[i]) ?? 0
    }

    @Test func fileURLsAndCancellation() throws {
        try quick.fetch("file://" + root + "/vmlinuz", to: dir + "/out")
        #expect(contents(dir + "/out") == payload)
        #expect(failure { try quick.fetch("file://" + root + "/absent", to: dir + "/out") }?.code == .notFound)
        #expect(failure { try quick.fetch("gopher://x/y", to: dir + "/out") }?.code == .invalidArgument)
        let server = try TestServer.http(root: root)
        let cancelled = failure {
            try quick.fetch("http://127.0.0.1:\(server.port)/_slow/vmlinuz", to: dir + "/out") { bytes, _ in bytes < 100_000 }
        }
        #expect(cancelled?.message.hasSuffix("cancelled") == true)
        #expect(server.logText.components(separatedBy: "GET /_slow").count - 1 == 1)
    }

    // MARK: issue 18: every fetch ends, and a failed one leaves nothing behind

    @Test func theDefaultsBoundEveryFetch() {
        let defaults = FetchSettings()
        #expect(defaults.totalTimeout == 600)
        #expect(defaults.maxSize == 1 << 30)
    }

    /// One byte every half second stays above libcurl's stall limit for ever: only the
    /// whole fetch's deadline ends it, and no retry follows (no time is left for one).
    @Test func aTricklingHTTPServerIsCutOffAtTheDeadline() throws {
        let server = try TestServer.http(root: root)
        var trickled = quick
        trickled.settings.lowSpeedTime = 20
        trickled.settings.totalTimeout = 2
        let out = dir + "/trickled"
        let error = failure { try trickled.fetch("http://127.0.0.1:\(server.port)/_trickle", to: out) }
        #expect(error?.message.contains("timed out: not done within the 2-second limit for a fetch") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(server.logText.components(separatedBy: "GET /_trickle").count - 1 == 1)
    }

    @Test func anEndlessHTTPBodyIsCutOffAtTheSizeLimit() throws {
        let server = try TestServer.http(root: root)
        var capped = quick
        capped.settings.maxSize = 256 << 10
        let out = dir + "/endless"
        // A file that was there before goes too: what is left would be a partial download.
        try Data(payload.prefix(1000)).write(to: URL(fileURLWithPath: out))
        let error = failure { try capped.fetch("http://127.0.0.1:\(server.port)/_endless", to: out) }
        #expect(error?.code == .limitExceeded)
        #expect(error?.message.contains("262144-byte (256K) limit") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func anEndlessTFTPFileIsCutOffAtTheSizeLimit() throws {
        let server = try TestServer.endlessTFTP(log: dir + "/tftp-endless.log")
        var capped = quick
        capped.settings.maxSize = 300_000
        let out = dir + "/endless-tftp"
        let error = failure { try capped.fetch("tftp://127.0.0.1:\(server.port)/vmlinuz", to: out) }
        #expect(error?.code == .limitExceeded)
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(server.logText.contains("RRQ vmlinuz"))
    }

    /// A TFTP server that keeps sending, slowly but never stalling, is cut off by the
    /// deadline as HTTP is.
    @Test func aSlowEndlessTFTPFileIsCutOffAtTheDeadline() throws {
        let server = try TestServer.endlessTFTP(interval: 0.3, log: dir + "/tftp-slow.log")
        var slow = quick
        slow.settings.lowSpeedTime = 20
        slow.settings.totalTimeout = 2
        let out = dir + "/slow-tftp"
        let error = failure { try slow.fetch("tftp://127.0.0.1:\(server.port)/initrd.img", to: out) }
        #expect(error?.message.contains("timed out: not done within the 2-second limit for a fetch") == true)
        #expect(!FileManager.default.fileExists(atPath: out))
        // Blocks did arrive: it was the deadline, not a stall, that ended it.
        #expect(error?.message.contains("(0 bytes received)") == false)
    }

    /// Configs are small: their fetch gets at most 60 s of the deadline and never more
    /// bytes than the caller's limit or the settings' cap.
    @Test func aConfigFetchHasItsOwnTighterLimits() throws {
        let server = try TestServer.http(root: root)
        var capped = quick
        capped.settings.maxSize = 1000
        #expect(failure { _ = try capped.fetchBytes("http://127.0.0.1:\(server.port)/vmlinuz", limit: 16 << 20) }?.code == .limitExceeded)
        var trickled = quick
        trickled.settings.totalTimeout = 1
        #expect(failure { _ = try trickled.fetchBytes("http://127.0.0.1:\(server.port)/_trickle") }?.message.contains("1-second limit") == true)
    }

    /// The password in a URL is sent to the server, and never shown in an error.
    @Test func credentialsInAURLAreUsedButNeverShown() throws {
        let server = try TestServer.http(root: root)
        let base = "http://user:secret@127.0.0.1:\(server.port)"
        try quick.fetch(base + "/_auth/vmlinuz", to: dir + "/authed")
        #expect(contents(dir + "/authed") == payload)
        let wrong = failure { try quick.fetch("http://user:wrong@127.0.0.1:\(server.port)/_auth/vmlinuz", to: dir + "/authed") }
        #expect(wrong?.message.contains("HTTP 401") == true)
        #expect(wrong?.message.contains("wrong") == false)
        #expect(wrong?.message.hasPrefix("http://user:***@127.0.0.1:") == true)
        let missing = failure { try quick.fetch(base + "/nothing-here", to: dir + "/authed") }
        #expect(missing?.code == .notFound)
        #expect(missing.map { "\($0)" }?.contains("secret") == false)
        #expect(!FileManager.default.fileExists(atPath: dir + "/authed"))
    }

    @Test func urlsResolveAgainstTheirDirectory() {
        #expect(URLText.resolve("vmlinuz", against: "http://h:8080/boot/pxe/default") == "http://h:8080/boot/pxe/vmlinuz")
        #expect(URLText.resolve("../k", against: "tftp://10.0.2.2/pxelinux.cfg/default") == "tftp://10.0.2.2/k")
        #expect(URLText.resolve("/abs/k", against: "https://[fe80::1]:443/a/b") == "https://[fe80::1]:443/abs/k")
        #expect(URLText.resolve("http://other/k", against: "tftp://h/x") == "http://other/k")
        #expect(URLParts("https://user@[fe80::1]:8443/x")?.host == "fe80::1")
        #expect(URLParts("https://user@[fe80::1]:8443/x")?.port == 8443)
        #expect(URLParts("tftp://10.0.2.2")?.path == "/")
        // The host as libcurl reads it: "?" and "#" end the authority.
        #expect(URLParts("https://evil.example?@lab.internal/x")?.host == "evil.example")
        #expect(URLParts("https://evil.example#@lab.internal/x")?.host == "evil.example")
    }
}
