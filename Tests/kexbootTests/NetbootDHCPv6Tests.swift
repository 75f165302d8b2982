import Foundation
import KexbootTestSupport
import Testing

/// Network boot over IPv6: dnsmasq (router advertisements, DHCPv6, TFTP) on `fd00:77::1`,
/// the daemon with its own DHCPv6 client (`kexboot dhcp6`) beside busybox udhcpc in the
/// client namespace. The client's duplicate address detection stays on, so it starts while
/// its link-local address is still tentative.
extension NetbootTests {
    /// The start of each scripted DHCPv6 server (python3 in the server namespace): a
    /// socket on port 547 of veth0 in ff02::1:2, "ready" on stderr, and helpers to build
    /// options (`opt`) and addresses (`addr`).
    static let serverPrelude = #"""
        import socket, struct, sys, time
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"veth0")
        s.bind(("::", 547))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                     socket.inet_pton(socket.AF_INET6, "ff02::1:2") + struct.pack("@I", socket.if_nametoindex("veth0")))
        print("ready", file=sys.stderr, flush=True)
        def opt(code, data): return struct.pack("!HH", code, len(data)) + data
        def addr(text): return socket.inet_pton(socket.AF_INET6, text)

        """#

    /// `dir/server.py` in the server namespace, once it says "ready", and `kexboot dhcp6`
    /// with `dir/hook` as its script in the client namespace.
    func startScriptedDHCPv6(_ ns: Namespaces, _ dir: String, clientArguments: [String] = []) throws -> (server: TestServer, client: TestServer) {
        let server = try TestServer.background(["/usr/sbin/ip", "netns", "exec", ns.server, "/usr/bin/python3", dir + "/server.py"],
                                               log: dir + "/server.log")
        for _ in 0..<50 where !server.logText.contains("ready") { usleep(100_000) }
        do {
            let client = try TestServer.background(["/usr/sbin/ip", "netns", "exec", ns.client, CLI.binary, "dhcp6", "-i", "eth0",
                                                    "-s", dir + "/hook"] + clientArguments, log: dir + "/client.log")
            return (server, client)
        } catch {
            server.stop()
            throw error
        }
    }

    /// The events the hook wrote to `dir/events`, once `done` holds for them or after
    /// `tries` tenths of a second.
    func hookEvents(_ dir: String, tries: Int = 150, until done: ([Substring]) -> Bool) -> [Substring] {
        var events: [Substring] = []
        for _ in 0..<tries {
            events = ((try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? "").split(separator: "\n")
            if done(events) { break }
            usleep(100_000)
        }
        return events
    }

    @Test func dhcpv6LeadsToAPxelinuxConfigOverIPv6TFTP() throws {
        let dir = try Shell.temporaryDirectory("netboot6")
        let root = dir + "/tftp"
        try FileManager.default.createDirectory(atPath: root + "/pxelinux.cfg", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        try String(repeating: "K", count: 200_000).write(toFile: root + "/images/vmlinuz", atomically: true, encoding: .utf8)
        try "not a real loader".write(toFile: root + "/pxelinux.0", atomically: true, encoding: .utf8)
        try """
            DEFAULT net6
            LABEL net6
              MENU LABEL Network install over IPv6
              KERNEL images/vmlinuz
              APPEND console=ttyS0
            """.write(toFile: root + "/pxelinux.cfg/default", atomically: true, encoding: .utf8)
        try Shell.run("chmod -R a+rX '\(dir)'")
        let ns = try Namespaces()
        try Shell.run("""
            ip netns exec \(ns.server) sysctl -qw net.ipv6.conf.veth0.accept_dad=0 && \
            ip -n \(ns.server) addr add fd00:77::1/64 dev veth0 nodad
            """)
        // The boot file URL goes only to a client that announced PXE (vendor class, Intel's
        // enterprise number) and its architecture (option 61): its arrival proves both.
        let dnsmasq = try TestServer.background([
            "/usr/sbin/ip", "netns", "exec", ns.server, "/usr/sbin/dnsmasq", "--no-daemon", "--port=0", "--interface=veth0",
            "--bind-interfaces", "--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h",
            "--dhcp-range=fd00:77::100,fd00:77::1ff,64,1h", "--enable-ra",
            "--dhcp-vendorclass=set:pxe6,enterprise:343,PXEClient", "--dhcp-match=set:arch6,option6:61",
            "--dhcp-option=tag:pxe6,tag:arch6,option6:bootfile-url,tftp://[fd00:77::1]/pxelinux.0",
            "--dhcp-option=option6:dns-server,[fd00:77::1]", "--enable-tftp", "--tftp-root=\(root)",
            "--log-dhcp", "--dhcp-leasefile=\(dir)/leases", "--pid-file=\(dir)/dnsmasq.pid", "--user=root",
        ], log: dir + "/dnsmasq.log")
        defer { dnsmasq.stop() }
        let socket = dir + "/kexboot.sock"
        try "".write(toFile: dir + "/cmdline", atomically: true, encoding: .utf8)
        try "settle = 0\nnetwork-refresh = 5\n".write(toFile: dir + "/kexboot.conf", atomically: true, encoding: .utf8)
        let daemon = try TestServer.background([
            "/usr/sbin/ip", "netns", "exec", ns.client, CLI.binary, "daemon", "--dry-run", "--no-autoboot", "--socket", socket,
            "--run-dir", dir + "/run", "--cmdline", dir + "/cmdline", "--resolv-conf", dir + "/resolv.conf",
            "--dhcp-client", "busybox udhcpc", "--network", "--config", dir + "/kexboot.conf",
        ], log: dir + "/daemon.log")
        defer { daemon.stop() }

        // Garbage at the client's port while it solicits: runts, unknown types, options
        // running past the end, a Reply with a cut IA_NA. It must drop them and go on.
        try """
            import os, random, socket, subprocess, sys, time
            ll = None
            for _ in range(200):
                out = subprocess.run(["ip", "-n", sys.argv[1], "-6", "addr", "show", "dev", "eth0", "scope", "link"], capture_output=True, text=True).stdout
                for word in out.split():
                    if word.startswith("fe80::"): ll = word.split("/")[0]
                if ll: break
                time.sleep(0.05)
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            index = socket.if_nametoindex("veth0")
            junk = [b"", b"\\x07", b"\\x02\\x00\\x00", b"\\x07\\x01\\x02\\x03\\x00\\x03\\xff\\xff\\x00",
                    b"\\x07\\x01\\x02\\x03\\x00\\x03\\x00\\x04\\x00\\x00\\x00\\x01", b"\\x02\\xaa\\xbb\\xcc\\x00\\x01\\x00\\x00\\x00\\x02\\x00\\x08ab"]
            sent = 0
            end = time.time() + 5
            while time.time() < end:
                for packet in junk + [os.urandom(random.randint(1, 200))]:
                    try:
                        s.sendto(packet, (ll, 546, 0, index)); sent += 1
                    except OSError as e:
                        print(e, file=sys.stderr)
                time.sleep(0.02)
                print("sent", sent, "to", ll, file=sys.stderr, flush=True)
            """.write(toFile: dir + "/junk.py", atomically: true, encoding: .utf8)
        let junk = try TestServer.background(["/usr/sbin/ip", "netns", "exec", ns.server, "/usr/bin/python3", dir + "/junk.py", ns.client],
                                             log: dir + "/junk.log")
        defer { junk.stop() }

        var list = ""
        for _ in 0..<400 {
            // Whichever lease comes second updates the device's addresses.
            if let r = try? ctl(socket, ["list", "--json"]), r.status == 0, r.stdout.contains("Network install over IPv6"),
               r.stdout.contains("\"address6\""), r.stdout.contains("\"address\": \"192.168.77.") {
                list = r.stdout
                break
            }
            usleep(100_000)
        }
        let clientLog = (try? String(contentsOfFile: dir + "/run/dhcp6-eth0.log", encoding: .utf8)) ?? ""
        #expect(list.contains("Network install over IPv6"), "daemon log: \(daemon.logText)\nclient: \(clientLog)\ndnsmasq: \(dnsmasq.logText)")
        // The address is on the interface as a /128 from the range, and on the device
        // beside the IPv4 lease's.
        let addr = try ns.exec(ns.client, "ip -6 addr show dev eth0")
        let address = try #require(addr.firstMatch(of: /inet6 (fd00:77::1[0-9a-f]{2})\/128/)?.1, "\(addr)")
        #expect(list.contains("\"address6\": \"\(address)\""))
        #expect(list.contains(/"address": "192\.168\.77\.\d+"/), "\(list)")
        #expect(try ns.exec(ns.client, "ip -4 addr show dev eth0").contains("192.168.77."))
        // The client waited for its tentative link-local address.
        #expect(clientLog.contains("waiting for a link-local address"), "\(clientLog)")
        // dnsmasq saw the exchange, with our PXE identity.
        let log = dnsmasq.logText
        #expect(log.contains("DHCPSOLICIT(veth0)") && log.contains("DHCPREQUEST(veth0)") && log.contains("DHCPREPLY(veth0) \(address)"))
        #expect(log.contains("vendor class: 343"))
        #expect(log.split(separator: "\n").contains { $0.contains("tags:") && $0.contains("pxe6") && $0.contains("arch6") }, "\(log)")
        #expect(log.contains("requested options: 23:dns-server, 24:domain-search, 59:bootfile-url"))
        // The pxelinux search beside pxelinux.0, over IPv6 TFTP: the MAC, then default (no
        // hex-address step for IPv6).
        let mac = try ns.exec(ns.client, "cat /sys/class/net/eth0/address").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(log.contains("pxelinux.cfg/01-\(mac.replacingOccurrences(of: ":", with: "-")) not found"), "\(log)")
        #expect(log.contains(/pxelinux\.cfg\/default to (fd00:77::|fe80::)/), "\(log)")
        #expect(list.contains("tftp://[fd00:77::1]/images/vmlinuz"))
        #expect(try String(contentsOfFile: dir + "/resolv.conf", encoding: .utf8).contains("nameserver fd00:77::1"))
        // A dry-run boot fetches the kernel over IPv6.
        let boot = try ctl(socket, ["boot", "net-eth0#0", "--json"])
        #expect(boot.status == 0, "\(boot.stderr)")
        #expect(boot.stdout.contains("\"size\": 200000"))
        #expect(dnsmasq.logText.contains(/images\/vmlinuz to (fd00:77::|fe80::)/), "\(dnsmasq.logText)")
        // The garbage reached the client, which is still the one the daemon started.
        junk.terminate()
        #expect(junk.logText.contains("sent"), "\(junk.logText)")
        #expect(!daemon.logText.contains("DHCPv6 client ended"))
        #expect((try? Shell.run("pgrep -f 'kexboot dhcp6.*\(dir)'")) != nil)

        // A client that dies is started again at the next refresh (5 s here).
        let pidFile = dir + "/run/dhcp6-eth0.pid"
        let first = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try Shell.run("kill -9 \(first)")
        for _ in 0..<100 where !daemon.logText.contains("the DHCPv6 client ended; starting it again") { usleep(100_000) }
        #expect(daemon.logText.contains("the DHCPv6 client ended; starting it again"), "\(daemon.logText)")
        var second = ""
        for _ in 0..<30 {
            second = (try? String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
            if !second.isEmpty && second != first { break }
            usleep(100_000)
        }
        #expect(!second.isEmpty && second != first)

        // A daemon killed outright leaves its clients; the next one (same run directory)
        // stops them through their pid files before it starts its own.
        daemon.stop()
        #expect((try? Shell.run("pgrep -f 'kexboot dhcp6.*\(dir)'")) != nil)
        let next = try TestServer.background([
            "/usr/sbin/ip", "netns", "exec", ns.client, CLI.binary, "daemon", "--dry-run", "--no-autoboot", "--socket", socket + "2",
            "--run-dir", dir + "/run", "--cmdline", dir + "/cmdline", "--resolv-conf", dir + "/resolv.conf",
            "--dhcp-client", "busybox udhcpc", "--network", "--config", dir + "/kexboot.conf",
        ], log: dir + "/daemon2.log")
        defer { next.stop() }
        for _ in 0..<100 where !next.logText.contains("asking DHCPv6") { usleep(100_000) }
        #expect(next.logText.contains("stopping the DHCP client an earlier daemon left (pid \(second))"), "\(next.logText)")
        // Gone (or a zombie nobody reaped, with no command line left).
        #expect(!((try? String(contentsOfFile: "/proc/\(second)/cmdline", encoding: .utf8)) ?? "").contains("dhcp6"))

        // Stopped as /init stops it: the client releases its lease and goes with the daemon.
        // The new daemon's own client binds (one more "bound" in the clients' log than
        // when it started: the one it stopped may or may not have bound before).
        func bounds() -> Int {
            ((try? String(contentsOfFile: dir + "/run/dhcp6-eth0.log", encoding: .utf8)) ?? "").components(separatedBy: ": bound ").count - 1
        }
        let boundBefore = bounds()
        for _ in 0..<100 where bounds() <= boundBefore { usleep(100_000) }
        #expect(bounds() == boundBefore + 1, "\(next.logText)")
        let releases = dnsmasq.logText.components(separatedBy: "DHCPRELEASE(veth0)").count
        next.terminate()
        #expect((try? Shell.run("pgrep -f 'kexboot dhcp6.*\(dir)'")) == nil, "a DHCPv6 client outlived the daemon")
        for _ in 0..<20 where dnsmasq.logText.components(separatedBy: "DHCPRELEASE(veth0)").count == releases { usleep(100_000) }
        #expect(dnsmasq.logText.components(separatedBy: "DHCPRELEASE(veth0)").count > releases)
    }

    /// The client's life: `leasefail` while nobody answers, then against a scripted server
    /// (python3 in the server namespace): it ignores runts and Advertises that are not for
    /// it or offer nothing, picks the preferred server, requests from it, renews at T1
    /// (answered, after an UnspecFail it must not take for the end of the lease), rebinds
    /// at T2 (not answered), reports `deconfig` when the lease runs out and starts over,
    /// and releases on SIGTERM; with -r, a Rapid Commit Reply is the lease. Lifetimes of a
    /// few seconds make that take about ten.
    @Test func theDHCPv6ClientRenewsRebindsAndStartsOver() throws {
        let dir = try Shell.temporaryDirectory("dhcp6client")
        let ns = try Namespaces()
        try Shell.run("""
            ip netns exec \(ns.server) sysctl -qw net.ipv6.conf.veth0.accept_dad=0 && \
            ip netns exec \(ns.client) sysctl -qw net.ipv6.conf.eth0.accept_dad=0 && \
            ip -n \(ns.client) link set eth0 up
            """)
        try (Self.serverPrelude + #"""
            def ia(iaid, t1, t2, address=None, pref=0, valid=0, status=None):
                inner = opt(5, addr(address) + struct.pack("!II", pref, valid)) if address else b""
                if status is not None: inner += opt(13, struct.pack("!H", status) + b"none")
                return opt(3, iaid + struct.pack("!II", t1, t2) + inner)
            A, B = bytes.fromhex("00030001aaaaaaaaaaaa"), bytes.fromhex("00030001bbbbbbbbbbbb")
            renews = 0
            while True:
                data, peer = s.recvfrom(2048)
                kind, xid, opts, i = data[0], data[1:4], {}, 4
                while i + 4 <= len(data):
                    code, length = struct.unpack("!HH", data[i:i + 4])
                    opts.setdefault(code, data[i + 4:i + 4 + length])
                    i += 4 + length
                cid, iaid, sid = opts.get(1, b""), opts.get(3, b"\0\0\0\0")[:4], opts.get(2)
                name = {1: "SOLICIT", 3: "REQUEST", 5: "RENEW", 6: "REBIND", 8: "RELEASE"}.get(kind, str(kind))
                print(name, "server=" + (sid.hex() if sid else "-"), "arch=" + opts.get(61, b"").hex(),
                      "vendor=" + opts.get(16, b"")[6:].decode(errors="replace"), file=sys.stderr, flush=True)
                def send(kind, body): s.sendto(bytes([kind]) + xid + body, peer)
                me = opt(1, cid)
                if kind == 1 and 14 in opts:                                            # rapid commit
                    send(7, me + opt(2, B) + opt(14, b"") + ia(iaid, 100, 200, "fd00:88::7", 300, 400))
                elif kind == 1:
                    send(2, b"\x00\x01")                                                # option header cut
                    send(2, me + ia(iaid, 0, 0, "fd00:88::c", 10, 20))                   # no server id
                    send(2, me + opt(2, A) + ia(iaid, 0, 0, status=2) + opt(7, b"\xff")) # NoAddrsAvail
                    send(2, me + opt(2, A) + opt(3, iaid + bytes(8) + b"\x00\x05\x00\x30"))  # IA address cut
                    send(2, opt(1, bytes.fromhex("00030001010203040506")) + opt(2, A)
                         + ia(iaid, 0, 0, "fd00:88::d", 10, 20) + opt(7, b"\xff"))      # another client's
                    send(7, me + opt(2, B) + ia(iaid, 1, 2, "fd00:88::e", 3, 4))         # Reply without rapid commit
                    send(2, me + opt(2, A) + ia(iaid, 0, 0, "fd00:88::a", 100, 200))     # preference 0
                    send(2, me + opt(2, B) + ia(iaid, 0, 0, "fd00:88::b", 100, 200) + opt(7, b"\x0a"))
                elif kind == 3 or (kind == 5 and renews == 0):
                    renews += kind == 5
                    if kind == 5:                                                       # a passing failure
                        send(7, me + opt(2, B) + opt(13, b"\x00\x01busy") + ia(iaid, 1, 2, "fd00:88::b", 3, 4))
                    send(7, b"\x00\x03\x00\xff")                                        # cut
                    send(7, me + ia(iaid, 1, 2, "fd00:88::f", 3, 4))                     # no server id
                    send(7, me + opt(2, B) + ia(iaid, 1, 2, "fd00:88::b", 3, 4) + opt(23, addr("fd00:88::1"))
                         + opt(24, b"\x07example\x03org\x00") + opt(59, b"http://[fd00:88::1]:8080/boot.ipxe")
                         + opt(60, b"\x00\x03a=1\x00\x03b=2"))
                elif kind == 5:
                    renews += 1
                elif kind == 8:
                    send(7, me + opt(2, B) + opt(13, b"\x00\x00released"))
            """#).write(toFile: dir + "/server.py", atomically: true, encoding: .utf8)
        try """
            #!/bin/sh
            echo "$1 ipv6=$ipv6 prefix=$ipv6prefix serverid=$serverid lease=$lease dns=$dns domain=$domain url=$bootfile_url param=$bootfile_param family=$family" >> \(dir)/events
            """.write(toFile: dir + "/hook", atomically: true, encoding: .utf8)
        try Shell.run("chmod +x '\(dir)/hook'")
        // Nobody answers yet: leasefail, and the client keeps soliciting.
        let lonely = try TestServer.background(["/usr/sbin/ip", "netns", "exec", ns.client, CLI.binary, "dhcp6", "-i", "eth0",
                                                "-s", dir + "/hook", "--leasefail-after", "1"], log: dir + "/lonely.log")
        for _ in 0..<50 where !((try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? "").contains("leasefail") { usleep(100_000) }
        lonely.terminate()
        #expect(((try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? "").contains("leasefail ipv6= "), "\(lonely.logText)")
        try "".write(toFile: dir + "/events", atomically: true, encoding: .utf8)

        let (server, client) = try startScriptedDHCPv6(ns, dir, clientArguments: ["-p", dir + "/client.pid", "-f"])
        defer { client.stop(); server.stop() }
        let events = hookEvents(dir, tries: 300) { $0.filter({ $0.hasPrefix("bound") }).count >= 2 }
        let context = "events: \(events)\nclient: \(client.logText)\nserver: \(server.logText)"
        #expect(events.map { $0.split(separator: " ")[0] } == ["deconfig", "bound", "renew", "deconfig", "bound"], "\(context)")
        #expect(events.count > 1 && events[1] == """
            bound ipv6=fd00:88::b prefix=128 serverid=00030001bbbbbbbbbbbb lease=4 dns=fd00:88::1 domain=example.org \
            url=http://[fd00:88::1]:8080/boot.ipxe param=["a=1","b=2"] family=inet6
            """, "\(context)")
        #expect(events.first == "deconfig ipv6= prefix= serverid= lease= dns= domain= url= param= family=inet6")
        let pid = (try? String(contentsOfFile: dir + "/client.pid", encoding: .utf8)) ?? ""
        #expect(Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)) != nil, "pid file: '\(pid)'")
        client.terminate()
        for _ in 0..<20 where !server.logText.contains("RELEASE") { usleep(100_000) }
        let log = server.logText.split(separator: "\n")
        // The Request, Renew and Release went to the preferred server; the Rebind to any.
        #expect(log.contains { $0.hasPrefix("REQUEST server=00030001bbbbbbbbbbbb") }, "\(context)")
        #expect(log.contains { $0.hasPrefix("RENEW server=00030001bbbbbbbbbbbb") })
        #expect(log.contains { $0.hasPrefix("REBIND server=-") })
        #expect(log.contains { $0.hasPrefix("RELEASE server=00030001bbbbbbbbbbbb") }, "\(server.logText)")
        #expect(!log.contains { $0.contains("server=00030001aaaaaaaaaaaa") })
        #expect(log.first { $0.hasPrefix("SOLICIT") }?.contains("vendor=PXEClient:Arch:") == true)
        #expect(access(dir + "/client.pid", F_OK) != 0, "the pid file outlived the client")

        // With -r (Rapid Commit) a Reply to the Solicit is the lease: no Request.
        try "".write(toFile: dir + "/events", atomically: true, encoding: .utf8)
        let requests = server.logText.components(separatedBy: "REQUEST").count
        let rapid = try TestServer.background(["/usr/sbin/ip", "netns", "exec", ns.client, CLI.binary, "dhcp6", "-i", "eth0",
                                               "-s", dir + "/hook", "-r"], log: dir + "/rapid.log")
        defer { rapid.stop() }
        for _ in 0..<50 where !((try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? "").contains("bound") { usleep(100_000) }
        let rapidEvents = (try? String(contentsOfFile: dir + "/events", encoding: .utf8)) ?? ""
        #expect(rapidEvents.contains("bound ipv6=fd00:88::7 prefix=128 serverid=00030001bbbbbbbbbbbb lease=400"), "\(rapidEvents)\n\(rapid.logText)")
        #expect(server.logText.components(separatedBy: "REQUEST").count == requests)
        rapid.terminate()
    }

    /// Refusals: the preferred server (255) advertises but answers every Request with
    /// NoAddrsAvail. The client asks it again only while nobody else advertises, waits
    /// longer after each refusal (1 s, 2 s…), and takes the other server's address as soon
    /// as that one advertises (from the third Solicit on). The Solicit asks for SOL_MAX_RT
    /// (82), the server's value is taken, and a Reply bigger than 4 KiB is read whole.
    @Test func aRefusingServerIsAvoidedAndRefusalsBackOff() throws {
        let dir = try Shell.temporaryDirectory("dhcp6nak")
        let ns = try Namespaces()
        try Shell.run("""
            ip netns exec \(ns.server) sysctl -qw net.ipv6.conf.veth0.accept_dad=0 && \
            ip netns exec \(ns.client) sysctl -qw net.ipv6.conf.eth0.accept_dad=0 && \
            ip -n \(ns.client) link set eth0 up
            """)
        try (Self.serverPrelude + #"""
            def ia(iaid, address=None, status=None):
                inner = opt(5, addr(address) + struct.pack("!II", 300, 400)) if address else b""
                if status is not None: inner += opt(13, struct.pack("!H", status) + b"none left")
                return opt(3, iaid + struct.pack("!II", 0, 0) + inner)
            A, B = bytes.fromhex("00030001aaaaaaaaaaaa"), bytes.fromhex("00030001bbbbbbbbbbbb")
            solicits, start = 0, time.monotonic()
            while True:
                data, peer = s.recvfrom(2048)
                kind, xid, opts, i = data[0], data[1:4], {}, 4
                while i + 4 <= len(data):
                    code, length = struct.unpack("!HH", data[i:i + 4])
                    opts.setdefault(code, data[i + 4:i + 4 + length])
                    i += 4 + length
                cid, iaid, sid = opts.get(1, b""), opts.get(3, b"\0\0\0\0")[:4], opts.get(2)
                name = {1: "SOLICIT", 3: "REQUEST"}.get(kind, str(kind))
                print(name, "server=" + (sid.hex() if sid else "-"), "oro=" + opts.get(6, b"").hex(),
                      "t=%.2f" % (time.monotonic() - start), file=sys.stderr, flush=True)
                def send(kind, body): s.sendto(bytes([kind]) + xid + body, peer)
                me = opt(1, cid)
                if kind == 1:
                    solicits += 1
                    send(2, me + opt(2, A) + ia(iaid, "fd00:99::a") + opt(7, b"\xff") + opt(82, struct.pack("!I", 3600)))
                    if solicits >= 3:
                        send(2, me + opt(2, B) + ia(iaid, "fd00:99::b"))
                elif kind == 3 and sid == A:
                    send(7, me + opt(2, A) + ia(iaid, status=2))
                elif kind == 3 and sid == B:
                    send(7, me + opt(2, B) + ia(iaid, "fd00:99::b") + opt(65000, b"x" * 6000) + opt(23, addr("fd00:99::1")))
            """#).write(toFile: dir + "/server.py", atomically: true, encoding: .utf8)
        try """
            #!/bin/sh
            echo "$1 ipv6=$ipv6 dns=$dns" >> \(dir)/events
            """.write(toFile: dir + "/hook", atomically: true, encoding: .utf8)
        try Shell.run("chmod +x '\(dir)/hook'")
        let (server, client) = try startScriptedDHCPv6(ns, dir)
        defer { client.stop(); server.stop() }
        let events = hookEvents(dir) { $0.contains(where: { $0.hasPrefix("bound") }) }
        let context = "events: \(events)\nclient: \(client.logText)\nserver: \(server.logText)"
        #expect(events == ["deconfig ipv6= dns=", "nak ipv6= dns=", "nak ipv6= dns=", "bound ipv6=fd00:99::b dns=fd00:99::1"], "\(context)")
        let log = server.logText.split(separator: "\n")
        let requests = log.filter { $0.hasPrefix("REQUEST") }
        #expect(requests.map { $0.split(separator: " ")[1] } == ["server=00030001aaaaaaaaaaaa", "server=00030001aaaaaaaaaaaa",
                                                                 "server=00030001bbbbbbbbbbbb"], "\(context)")
        #expect(log.first { $0.hasPrefix("SOLICIT") }?.contains("oro=00170018003b003c0052") == true, "\(context)")
        #expect(client.logText.contains("Solicits at most 3600 s apart"), "\(context)")
        // The wait after each refusal doubles (the client's own account of its waits).
        let waits = client.logText.matches(of: /soliciting again in (\d+) s/).compactMap { Int($0.1) }
        #expect(waits == [1, 2], "\(context)")
    }

    /// A DHCPv6 client other than kexboot's (busybox udhcpc6 sets no `family`): the daemon
    /// gives it `family=inet6` to pass on, so its events never touch the IPv4 lease; its
    /// refusals are logged once. Its `deconfig` takes the address off the interface (with
    /// the prefix it went on with) and the device, and the lease's DNS
    /// servers out of resolv.conf (a link-local one was written with its interface); a
    /// lease whose address the interface refuses is not recorded. A
    /// client that ends at once is started again later and later, said once; a kernel
    /// without IPv6 gets no DHCPv6 client at all.
    @Test func aThirdPartyDHCPv6ClientAndOneThatEndsAtOnce() throws {
        let dir = try Shell.temporaryDirectory("netboot6third")
        let ns = try Namespaces()
        let dnsmasq = try TestServer.background([
            "/usr/sbin/ip", "netns", "exec", ns.server, "/usr/sbin/dnsmasq", "--no-daemon", "--port=0", "--interface=veth0",
            "--bind-interfaces", "--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h",
            "--dhcp-option=option:dns-server,192.168.77.1", "--dhcp-leasefile=\(dir)/leases", "--pid-file=\(dir)/dnsmasq.pid", "--user=root",
        ], log: dir + "/dnsmasq.log")
        defer { dnsmasq.stop() }
        try """
            #!/bin/sh
            # udhcpc6's way: its own variables, no family; the script inherits the environment.
            while [ $# -gt 0 ]; do [ "$1" = -s ] && script=$2; shift; done
            export interface=eth0
            "$script" deconfig
            "$script" nak
            "$script" nak
            while [ ! -e \(dir)/go ]; do sleep 0.1; done
            # (ipv6prefix as a number is kexboot dhcp6's spelling: the address's prefix.)
            ipv6=fd00:77::55 ipv6prefix=64 dns="fe80::1 fd00:77::53" search=example.net lease=3600 "$script" bound
            while [ ! -e \(dir)/go2 ]; do sleep 0.1; done
            "$script" deconfig
            while [ ! -e \(dir)/go3 ]; do sleep 0.1; done
            ipv6=fd00:77::66 dns=fd00:77::53 "$script" bound
            exec sleep 1000
            """.write(toFile: dir + "/fake6", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho started >> \(dir)/starts\n".write(toFile: dir + "/quick6", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/cmdline", atomically: true, encoding: .utf8)
        try "settle = 0\nnetwork-refresh = 5\n".write(toFile: dir + "/kexboot.conf", atomically: true, encoding: .utf8)
        func daemon(_ name: String, _ extra: [String]) throws -> TestServer {
            try TestServer.background([
                "/usr/sbin/ip", "netns", "exec", ns.client, CLI.binary, "daemon", "--dry-run", "--no-autoboot", "--socket", dir + "/\(name).sock",
                "--run-dir", dir + "/run-\(name)", "--cmdline", dir + "/cmdline", "--resolv-conf", dir + "/resolv.conf",
                "--dhcp-client", "busybox udhcpc", "--network", "--config", dir + "/kexboot.conf",
            ] + extra, log: dir + "/\(name).log")
        }
        func resolv() -> String { (try? String(contentsOfFile: dir + "/resolv.conf", encoding: .utf8)) ?? "" }
        func addresses() -> String { (try? ns.exec(ns.client, "ip addr show dev eth0")) ?? "" }
        func list(_ name: String) -> String { (try? ctl(dir + "/\(name).sock", ["list", "--json"]))?.stdout ?? "" }

        let third = try daemon("third", ["--dhcp6-client", "/bin/sh \(dir)/fake6"])
        for _ in 0..<100 where !(addresses().contains("inet 192.168.77.") && resolv().contains("192.168.77.1")) { usleep(100_000) }
        #expect(addresses().contains("inet 192.168.77."), "\(third.logText)")
        try "".write(toFile: dir + "/go", atomically: true, encoding: .utf8)
        for _ in 0..<50 where !(addresses().contains("fd00:77::55") && list("third").contains("fd00:77::55")) { usleep(100_000) }
        #expect(addresses().contains("inet6 fd00:77::55/64"), "\(third.logText)")
        // Two refusals, one warning.
        #expect(third.logText.components(separatedBy: "DHCPv6 gave no address").count == 2, "\(third.logText)")
        #expect(list("third").contains("\"address6\": \"fd00:77::55\""), "\(list("third"))")
        #expect(resolv().contains("nameserver fe80::1%eth0") && resolv().contains("nameserver fd00:77::53"), "\(resolv())")
        try "".write(toFile: dir + "/go2", atomically: true, encoding: .utf8)
        for _ in 0..<50 where addresses().contains("fd00:77::55") || resolv().contains("fe80::1") { usleep(100_000) }
        // Taken off with the prefix it was put on with.
        #expect(!addresses().contains("fd00:77::55"), "\(third.logText)")
        // IPv4's address, lease and DNS are untouched.
        #expect(addresses().contains("inet 192.168.77."), "\(third.logText)")
        #expect(resolv().contains("nameserver 192.168.77.1") && !resolv().contains("fd00:77::53") && !resolv().contains("fe80::1"), "\(resolv())")
        for _ in 0..<20 where list("third").contains("fd00:77::55") { usleep(100_000) }
        #expect(!list("third").contains("fd00:77::55"), "\(list("third"))")
        #expect(list("third").contains("\"address\": \"192.168.77."), "\(list("third"))")
        // An address the interface refuses (IPv6 off on it) is no lease.
        _ = try ns.exec(ns.client, "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1")
        try "".write(toFile: dir + "/go3", atomically: true, encoding: .utf8)
        for _ in 0..<50 where !third.logText.contains("fd00:77::66/128") { usleep(100_000) }
        #expect(third.logText.contains("error: eth0:") && third.logText.contains("fd00:77::66/128"), "\(third.logText)")
        #expect(!third.logText.contains("DHCPv6 bound fd00:77::66"), "\(third.logText)")
        #expect(!list("third").contains("fd00:77::66") && !resolv().contains("fd00:77::53"), "\(list("third"))\n\(resolv())")
        _ = try ns.exec(ns.client, "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0")
        third.terminate()

        // A client that ends at once: it would be started at every refresh (5 s here);
        // after one retry it is started after 10, 20… s, said once.
        let quick = try daemon("quick", ["--dhcp6-client", "/bin/sh \(dir)/quick6"])
        for _ in 0..<200 where !quick.logText.contains("DHCPv6 client ended") { usleep(100_000) }
        for _ in 0..<80 where !quick.logText.contains("keeps ending at once") { usleep(100_000) }
        usleep(5_500_000)
        let starts = ((try? String(contentsOfFile: dir + "/starts", encoding: .utf8)) ?? "").split(separator: "\n").count
        #expect(starts == 2, "\(starts) starts\n\(quick.logText)")
        #expect(quick.logText.components(separatedBy: "the DHCPv6 client ended").count == 2, "\(quick.logText)")
        #expect(quick.logText.components(separatedBy: "the DHCPv6 client keeps ending at once").count == 2, "\(quick.logText)")
        quick.terminate()

        // No /proc/net/if_inet6: no DHCPv6 client, said once; IPv4 goes on.
        let none = try daemon("none", ["--proc-inet6", dir + "/no-such-file", "--dhcp6-client", "/bin/sh \(dir)/quick6"])
        for _ in 0..<100 where !list("none").contains("\"address\": \"192.168.77.") { usleep(100_000) }
        usleep(2_000_000)
        let log = none.logText
        #expect(list("none").contains("\"address\": \"192.168.77."), "\(log)")
        #expect(log.components(separatedBy: "the kernel has no IPv6").count == 2, "\(log)")
        #expect(!log.contains("asking DHCPv6") && !log.contains("DHCPv6 client ended"), "\(log)")
        #expect(((try? String(contentsOfFile: dir + "/starts", encoding: .utf8)) ?? "").split(separator: "\n").count == starts)
        none.terminate()
    }

    /// Duplicate address detection: the server leases the address its own interface
    /// has. The hook puts it on the client's interface, where detection fails; the client
    /// declines it, reports `deconfig` and solicits again, and takes the next address.
    @Test func aDuplicateAddressIsDeclined() throws {
        let dir = try Shell.temporaryDirectory("dhcp6dad")
        let ns = try Namespaces()
        try Shell.run("""
            ip -n \(ns.server) addr add fd00:99::d/64 dev veth0 nodad && \
            ip netns exec \(ns.client) sysctl -qw net.ipv6.conf.eth0.accept_dad=1 && \
            ip -n \(ns.client) link set eth0 up
            """)
        try (Self.serverPrelude + #"""
            def ia(iaid, address):
                return opt(3, iaid + struct.pack("!II", 0, 0) + opt(5, socket.inet_pton(socket.AF_INET6, address) + struct.pack("!II", 300, 400)))
            A = bytes.fromhex("00030001aaaaaaaaaaaa")
            address = "fd00:99::d"
            while True:
                data, peer = s.recvfrom(2048)
                kind, xid, opts, i = data[0], data[1:4], {}, 4
                while i + 4 <= len(data):
                    code, length = struct.unpack("!HH", data[i:i + 4])
                    opts.setdefault(code, data[i + 4:i + 4 + length])
                    i += 4 + length
                cid, iaid = opts.get(1, b""), opts.get(3, b"\0\0\0\0")[:4]
                inner = opts.get(3, b"")[12:]
                asked = socket.inet_ntop(socket.AF_INET6, inner[4:20]) if len(inner) >= 20 else "-"
                print({1: "SOLICIT", 3: "REQUEST", 9: "DECLINE"}.get(kind, str(kind)), asked, file=sys.stderr, flush=True)
                me = opt(1, cid) + opt(2, A)
                if kind == 9:
                    address = "fd00:99::e"
                    s.sendto(bytes([7]) + xid + me + opt(13, b"\x00\x00ok"), peer)
                elif kind in (1, 3):
                    s.sendto(bytes([2 if kind == 1 else 7]) + xid + me + ia(iaid, address), peer)
            """#).write(toFile: dir + "/server.py", atomically: true, encoding: .utf8)
        try """
            #!/bin/sh
            echo "$1 $ipv6" >> \(dir)/events
            [ "$1" = bound ] && ip addr add "$ipv6/128" dev eth0
            exit 0
            """.write(toFile: dir + "/hook", atomically: true, encoding: .utf8)
        try Shell.run("chmod +x '\(dir)/hook'")
        let (server, client) = try startScriptedDHCPv6(ns, dir)
        defer { client.stop(); server.stop() }
        let events = hookEvents(dir) { $0.filter({ $0.hasPrefix("bound") }).count >= 2 }
        let context = "events: \(events)\nclient: \(client.logText)\nserver: \(server.logText)"
        #expect(events == ["deconfig ", "bound fd00:99::d", "deconfig ", "bound fd00:99::e"], "\(context)")
        #expect(server.logText.contains("DECLINE fd00:99::d"), "\(context)")
        #expect(client.logText.contains("duplicate address detection failed"), "\(context)")
    }
}
