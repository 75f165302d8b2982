import Foundation
import KexbootTestSupport
import Testing

/// Network boot as it happens on a LAN, inside network namespaces this test makes: dnsmasq
/// (DHCP + TFTP) on one end of a veth pair, `kexboot daemon` with busybox udhcpc on the
/// other. Nothing touches the host's own interfaces.
@Suite(.serialized) struct NetbootTests {
    /// Two namespaces joined by a veth pair; the server end is 192.168.77.1/24.
    final class Namespaces {
        let server: String
        let client: String

        init() throws {
            let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
            server = "kxs\(tag)"
            client = "kxc\(tag)"
            try Shell.run("""
                ip netns add \(server) && ip netns add \(client) && \
                ip link add kxsv\(tag) type veth peer name kxcv\(tag) && \
                ip link set kxsv\(tag) netns \(server) name veth0 && ip link set kxcv\(tag) netns \(client) name eth0 && \
                ip -n \(server) addr add 192.168.77.1/24 dev veth0 && ip -n \(server) link set veth0 up && \
                ip -n \(server) link set lo up && ip -n \(client) link set lo up && \
                ip netns exec \(server) ethtool -K veth0 tx off >/dev/null
                """)
        }

        deinit {
            _ = try? Shell.run("ip netns del \(server); ip netns del \(client)")
        }

        func exec(_ namespace: String, _ command: String) throws -> String {
            try Shell.run("ip netns exec \(namespace) \(command)")
        }
    }

    func ctl(_ socket: String, _ args: [String]) throws -> CLI.Result {
        try CLI.run(["ctl", "--socket", socket] + args)
    }

    @Test func dhcpLeadsToAPxelinuxConfigOverTFTP() throws {
        let dir = try Shell.temporaryDirectory("netboot")
        let root = dir + "/tftp"
        try FileManager.default.createDirectory(atPath: root + "/pxelinux.cfg", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        try String(repeating: "K", count: 200_000).write(toFile: root + "/images/vmlinuz", atomically: true, encoding: .utf8)
        try "I".write(toFile: root + "/images/initrd.img", atomically: true, encoding: .utf8)
        try """
            DEFAULT net
            TIMEOUT 30
            LABEL net
              MENU LABEL Network install
              KERNEL images/vmlinuz
              INITRD images/initrd.img
              APPEND console=ttyS0
              IPAPPEND 2
            """.write(toFile: root + "/pxelinux.cfg/default", atomically: true, encoding: .utf8)
        try Shell.run("chmod -R a+rX '\(dir)'")
        let ns = try Namespaces()
        let dnsmasq = try TestServer.background([
            "/usr/sbin/ip", "netns", "exec", ns.server, "/usr/sbin/dnsmasq", "--no-daemon", "--port=0", "--interface=veth0",
            "--bind-interfaces", "--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h", "--dhcp-boot=pxelinux.0",
            "--dhcp-option=3,192.168.77.1", "--dhcp-option=6,192.168.77.1", "--enable-tftp", "--tftp-root=\(root)",
            "--log-dhcp", "--dhcp-leasefile=\(dir)/leases", "--pid-file=\(dir)/dnsmasq.pid", "--user=root",
        ], log: dir + "/dnsmasq.log")
        defer { dnsmasq.stop() }
        let socket = dir + "/kexboot.sock"
        try "".write(toFile: dir + "/cmdline", atomically: true, encoding: .utf8)
        try "settle = 0\n[interface eth1]\nmethod = static\naddress = 10.5.5.5/24\n[interface eth2]\nmethod = ignore\n"
            .write(toFile: dir + "/kexboot.conf", atomically: true, encoding: .utf8)
        let daemon = try TestServer.background([
            "/usr/sbin/ip", "netns", "exec", ns.client, CLI.binary, "daemon", "--dry-run", "--no-autoboot", "--socket", socket,
            "--run-dir", dir + "/run", "--cmdline", dir + "/cmdline", "--resolv-conf", dir + "/resolv.conf",
            "--dhcp-client", "busybox udhcpc", "--network", "--config", dir + "/kexboot.conf",
        ], log: dir + "/daemon.log")
        // Stopped as /init would: it stops its DHCP client on the way out.
        defer {
            daemon.terminate()
            #expect((try? Shell.run("pgrep -f 'udhcpc.*\(dir)'")) == nil, "a DHCP client outlived the daemon")
        }

        var list = ""
        for _ in 0..<300 {
            if let r = try? ctl(socket, ["list", "--json"]), r.status == 0, r.stdout.contains("Network install") {
                list = r.stdout
                break
            }
            usleep(100_000)
        }
        #expect(list.contains("Network install"), "daemon log: \(daemon.logText)\ndnsmasq: \(dnsmasq.logText)")
        // The lease is a device with its interface and address.
        #expect(list.contains("\"interface\": \"eth0\""))
        let address = try #require(list.firstMatch(of: /"address": "(192\.168\.77\.\d+)"/)?.1)
        #expect(list.contains("tftp://192.168.77.1/images/vmlinuz"))
        // The pxelinux order, as the TFTP server saw it: the MAC, then the address in hex
        // shortened one digit at a time, then `default`.
        let mac = try ns.exec(ns.client, "cat /sys/class/net/eth0/address").trimmingCharacters(in: .whitespacesAndNewlines)
        let hex = String(address).split(separator: ".").map { String(format: "%02X", Int($0)!) }.joined()
        var expected = ["01-" + mac.replacingOccurrences(of: ":", with: "-")]
        for n in stride(from: 8, through: 1, by: -1) { expected.append(String(hex.prefix(n))) }
        let log = dnsmasq.logText
        let tried = log.split(separator: "\n").compactMap { line -> String? in
            guard let m = line.firstMatch(of: /file .*\/pxelinux\.cfg\/(\S+) not found/) else { return nil }
            return String(m.1)
        }
        #expect(Array(tried.suffix(expected.count)) == expected, "\(log)")
        #expect(log.contains("pxelinux.cfg/default to 192.168.77."))
        // The PXE identity went out with the request.
        #expect(log.contains("vendor class: PXEClient:Arch:0000"))
        #expect(try String(contentsOfFile: dir + "/resolv.conf", encoding: .utf8).contains("nameserver 192.168.77.1"))
        // Booting it (dry run) fetches the kernel over TFTP; IPAPPEND 2 added BOOTIF.
        let boot = try ctl(socket, ["boot", "net-eth0#0", "--json"])
        #expect(boot.status == 0, "\(boot.stderr)")
        #expect(boot.stdout.contains("\"size\": 200000"))
        #expect(boot.stdout.contains("BOOTIF=01-" + mac.replacingOccurrences(of: ":", with: "-")))
        #expect(try ns.exec(ns.client, "ip -4 addr show eth0").contains(String(address) + "/24"))
        #expect(try ns.exec(ns.client, "ip route").contains("default via 192.168.77.1"))

        // A lying or broken DHCP path: garbage, absurd leases, leases for interfaces the
        // daemon does not manage, a file:// boot file. The daemon logs and carries on.
        let sock = dir + "/run/dhcp.sock"
        let lies = [
            "not json at all", "[1,2,3]", "{\"event\": 7}",
            "{\"event\":\"bound\",\"interface\":\"eth0\",\"ip\":\"999.1.1.1\",\"mask\":\"77\",\"router\":\"x\"}",
            "{\"event\":\"bound\",\"interface\":\"wlan9\",\"ip\":\"10.9.9.9\"}",
            "{\"event\":\"bound\",\"interface\":\"eth0\",\"ip\":\"\(address)\",\"mask\":\"24\",\"bootfile\":\"file:///etc/shadow\"}",
        ]
        for lie in lies {
            try Shell.run("printf '%s' '\(lie)' | python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(sys.stdin.buffer.read(), \"\(sock)\")'")
        }
        usleep(500_000)
        let status = try ctl(socket, ["status", "--json"])
        #expect(status.status == 0, "the daemon stopped answering: \(daemon.logText)")
        // The file:// boot file changed the lease's boot information: the old config went
        // and no new one was looked up (a DHCP server cannot point at local files).
        let after = try ctl(socket, ["list", "--json"]).stdout
        #expect(!after.contains("Network install"))
        #expect(!after.contains("/etc/shadow"))
        #expect(daemon.logText.contains("wlan9, which kexboot does not manage"))

        // Interfaces that appear later are noticed (rtnetlink): eth1 is set up statically
        // as the config says, eth2 is left down; when eth1 goes, the daemon notices that too.
        try Shell.run("ip -n \(ns.server) link add kxe1 type veth peer name eth1 netns \(ns.client) && "
                      + "ip -n \(ns.server) link add kxe2 type veth peer name eth2 netns \(ns.client)")
        var eth1 = ""
        for _ in 0..<50 {
            eth1 = try ns.exec(ns.client, "ip -4 addr show eth1")
            if eth1.contains("10.5.5.5/24") { break }
            usleep(100_000)
        }
        #expect(eth1.contains("10.5.5.5/24"), "\(daemon.logText)")
        #expect(eth1.contains("UP"))
        #expect(!(try ns.exec(ns.client, "ip link show eth2")).contains(",UP"))
        try Shell.run("ip -n \(ns.client) link del eth1")
        for _ in 0..<50 where !daemon.logText.contains("eth1: gone") { usleep(100_000) }
        #expect(daemon.logText.contains("eth1: gone"))
        #expect(try ctl(socket, ["status", "--json"]).status == 0)
    }
}
