import Foundation
import KexbootTestSupport
import Testing

/// Loss and a slow link made by the kernel itself, in a network namespace of the test's
/// own: nftables drops packets at random (`numgen random`) on the way in and out, and a
/// `tbf` qdisc holds the link to a few Mbit/s. This host's kernel has no `sch_netem`, so
/// delay is left to Tests/Support/impair.py (FetcherTests); loss and rate are real here,
/// for TCP as well as UDP. `kexboot fetch` runs inside the namespace against
/// python3 http.server and tftpd-hpa there, and must still deliver each file byte for byte.
@Suite(.serialized) struct LossyLinkTests {
    @Test func httpAndTFTPThroughKernelLossAndARateLimit() throws {
        let dir = try Shell.temporaryDirectory("lossy")
        let root = dir + "/www"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: 600_000)
        var x: UInt32 = 88_172_645
        for i in bytes.indices { x ^= x << 13; x ^= x >> 17; x ^= x << 5; bytes[i] = UInt8(truncatingIfNeeded: x) }
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/kernel"))
        try Data(bytes.prefix(120_000)).write(to: URL(fileURLWithPath: root + "/initrd"))
        try Shell.run("chmod -R a+rX '\(dir)'")

        let ns = "kxl" + String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        // An Ethernet-sized MTU: loopback's 64 KiB would not fit tbf's bucket.
        // tftpd resolves its address with AI_ADDRCONFIG, which wants one non-loopback IPv4
        // address in the namespace: a veth pair inside it carries one.
        try Shell.run("""
            ip netns add \(ns) && ip -n \(ns) link set lo mtu 1500 up && \
            ip -n \(ns) link add v0 type veth peer name v1 && ip -n \(ns) addr add 10.77.0.1/24 dev v0 && \
            ip -n \(ns) link set v0 up && ip -n \(ns) link set v1 up
            """)
        defer { _ = try? Shell.run("ip netns del \(ns)") }
        // 5% of packets dropped as they arrive, counted; 4 Mbit/s at most. (Only on the way
        // in: a drop in the output hook fails the sender's sendto() with EPERM, which a
        // lossy wire never does.)
        try """
            table inet kexboot_loss {
              chain input { type filter hook input priority 0; policy accept; numgen random mod 100 < 5 counter drop; }
            }
            """.write(toFile: dir + "/loss.nft", atomically: true, encoding: .utf8)
        try Shell.run("ip netns exec \(ns) nft -f '\(dir)/loss.nft'")
        try Shell.run("ip netns exec \(ns) tc qdisc add dev lo root tbf rate 4mbit burst 32kb latency 400ms")

        let http = try TestServer.background(["/usr/sbin/ip", "netns", "exec", ns, "/usr/bin/python3", "-m", "http.server",
                                              "--bind", "127.0.0.1", "--directory", root, "8080"], log: dir + "/http.log")
        defer { http.stop() }
        let tftp = try TestServer.background(["/usr/sbin/ip", "netns", "exec", ns, "/usr/sbin/in.tftpd", "-L", "-u", "root",
                                              "-s", "-a", "127.0.0.1:6969", root], log: dir + "/tftp.log")
        defer { tftp.stop() }
        usleep(700_000)

        func fetch(_ url: String, _ out: String) throws -> String {
            try Shell.run("ip netns exec \(ns) '\(CLI.binary)' fetch --verbose --retries 3 '\(url)' -o '\(out)'")
        }
        let viaHTTP = try fetch("http://127.0.0.1:8080/kernel", dir + "/kernel.http")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/kernel.http")) == Data(bytes), "\(viaHTTP)")
        let viaTFTP = try fetch("tftp://127.0.0.1:6969/initrd", dir + "/initrd.tftp")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/initrd.tftp")) == Data(bytes.prefix(120_000)), "\(viaTFTP)")

        // Packets really were lost on the way.
        let rules = try Shell.run("ip netns exec \(ns) nft list table inet kexboot_loss")
        let dropped = rules.firstMatch(of: /counter packets (\d+)/).flatMap { Int($0.1) } ?? 0
        #expect(dropped > 0, "nothing was dropped:\n\(rules)")
        // And the rate limit held packets back (tbf counts each time the bucket was empty).
        let qdisc = try Shell.run("ip netns exec \(ns) tc -s qdisc show dev lo")
        let overlimits = qdisc.firstMatch(of: /overlimits (\d+)/).flatMap { Int($0.1) } ?? 0
        #expect(overlimits > 0, "the tbf qdisc never held a packet back:\n\(qdisc)")
    }
}
