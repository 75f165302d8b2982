#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootOS

/// A stateful DHCPv6 client for one interface (RFC 8415 §18): Solicit → Advertise →
/// Request → Reply, Renew at T1, Rebind at T2, a new Solicit when the lease runs out,
/// Release when asked to stop. It asks for one address (IA_NA) and the boot-file URL, and
/// reports what happens through `report`, as udhcpc reports to its script.
///
/// One thread, blocking in `poll` on the UDP socket and a signalfd: SIGTERM, SIGINT and
/// SIGHUP end `run()` (after a Release when there is a lease).
public final class DHCPv6Client {
    public struct Configuration: Sendable {
        public var interface: String
        public var architecture: UInt16 = 0
        /// Ask for Rapid Commit (a two-message exchange) in the Solicit.
        public var rapidCommit = false
        /// Seconds without an answer before `leasefail` is reported (and again each time
        /// that much more has passed); the client keeps trying.
        public var leasefailAfter: Double = 20
        /// The longest Solicit retransmission interval. RFC 8415's SOL_MAX_RT is an hour;
        /// a boot manager waiting for its server retries sooner.
        public var solicitMaxInterval: Double = 60
        /// How long after `bound` the leased address's duplicate address detection is
        /// watched (it ends sooner when the kernel is done with it).
        public var dadWatch: Double = 10
        /// `/proc/net/if_inet6`, for the link-local address's state.
        public var procInet6 = "/proc/net/if_inet6"
        public var sysfsNet = "/sys/class/net"

        public init(interface: String) { self.interface = interface }
    }

    /// The lease as the script sees it.
    public struct Lease: Sendable, Equatable {
        public var address: String
        public var preferred: UInt32
        public var valid: UInt32
        public var t1: UInt32
        public var t2: UInt32
        public var serverID: [UInt8]
        public var dns: [String]
        public var domains: [String]
        public var bootFileURL: String?
        public var bootFileParameters: [String]

        /// The script's variables (see `kexboot dhcp-hook`).
        public func variables(interface: String) -> [String: String] {
            var v = ["interface": interface, "family": "inet6", "ipv6": address, "ipv6prefix": "128",
                     "lease": String(valid), "preferred": String(preferred), "serverid": DHCPv6.hex(serverID)]
            if !dns.isEmpty { v["dns"] = dns.joined(separator: " ") }
            if !domains.isEmpty { v["domain"] = domains.joined(separator: " ") }
            if let bootFileURL { v["bootfile_url"] = bootFileURL }
            // A JSON array of strings: a parameter may hold blanks.
            if !bootFileParameters.isEmpty { v["bootfile_param"] = JSONValue.array(bootFileParameters.map { .string($0) }).serialized(compact: true) }
            return v
        }

        /// From a Reply (or a rapid-commit Reply to a Solicit): `nil` unless our IA_NA
        /// holds a usable address.
        public init?(reply: DHCPv6Message, iaid: UInt32) {
            // An IA_NA whose T1 > T2 (both non-zero) is discarded (RFC 8415 §21.4).
            guard (reply.status?.code ?? DHCPv6Status.success) == DHCPv6Status.success, let serverID = reply.serverID,
                  let ia = reply.addressAssociations.first(where: { $0.id == iaid }),
                  (ia.status?.code ?? DHCPv6Status.success) == DHCPv6Status.success, !ia.inconsistentTimes,
                  let a = ia.usableAddresses.first else { return nil }
            address = a.text
            preferred = a.preferredLifetime
            valid = a.validLifetime
            let (t1, t2) = Self.times(t1: ia.t1, t2: ia.t2, preferred: a.preferredLifetime, valid: a.validLifetime)
            self.t1 = t1
            self.t2 = t2
            self.serverID = serverID
            dns = reply.dnsServers
            domains = reply.domainList
            bootFileURL = reply.bootFileURL
            bootFileParameters = reply.bootFileParameters
        }

        /// T1 and T2 as the client uses them (0xffffffff is infinity throughout). Zero
        /// leaves a time to the client: 0.5 and 0.8 of the preferred lifetime, or of the
        /// valid one when the preferred is 0, with T1 at least a minute (half the valid
        /// lifetime when that is shorter), so a lease is not renewed every second. Neither
        /// is later than the valid lifetime, nor T1 later than T2.
        public static func times(t1: UInt32, t2: UInt32, preferred: UInt32, valid: UInt32) -> (UInt32, UInt32) {
            let forever = UInt32.max
            let base = Double(preferred != 0 ? preferred : valid)
            let floor = min(60, Double(valid) / 2)
            let derived1 = UInt32(clamping: Int(max(base * 0.5, floor)))
            var chosen1 = t1 != 0 ? t1 : preferred == forever || (preferred == 0 && valid == forever) ? forever : derived1
            var chosen2 = t2 != 0 ? t2
                : chosen1 == forever ? forever : max(UInt32(clamping: Int(max(base * 0.8, floor))), chosen1)
            if valid != forever { chosen2 = min(chosen2, valid) }
            chosen1 = min(chosen1, chosen2)
            return (chosen1, chosen2)
        }
    }

    public let configuration: Configuration
    let report: (String, [String: String]) -> Void
    let log: (String) -> Void
    let index: UInt32
    let duid: [UInt8]
    let iaid: UInt32
    let fd: Int32
    let signals: TerminationSignals
    var stopped = false
    /// The longest Solicit interval: the configuration's, or what a server's SOL_MAX_RT
    /// (option 82) said, kept to 60 s … an hour.
    var solicitMaxInterval: Double

    /// Opens the client's socket (UDP port 546 on the interface) and blocks the
    /// termination signals for its signalfd.
    public init(_ configuration: Configuration, report: @escaping (String, [String: String]) -> Void, log: @escaping (String) -> Void) throws {
        self.configuration = configuration
        solicitMaxInterval = configuration.solicitMaxInterval
        self.report = report
        self.log = log
        let name = configuration.interface
        index = if_nametoindex(name)
        guard index != 0 else { throw KexbootError(.notFound, "\(name): no such interface") }
        let macText = (try? DirectoryFileSource(root: "/").read("\(configuration.sysfsNet)/\(name)/address", limit: 4096))
            .map { String(decoding: $0, as: UTF8.self).trimmingBlanks() } ?? ""
        guard let duid = DHCPv6Option.duidLL(mac: macText), duid.count >= 8 else {
            throw KexbootError(.invalidArgument, "\(name): no MAC address for a DUID")
        }
        self.duid = duid
        iaid = duid.suffix(4).reduce(0) { $0 << 8 | UInt32($1) }

        signals = try TerminationSignals()

        fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KexbootError(.ioError, "socket", cause: Errno(errno)) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = name.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) }
        guard bound == 0 else { throw KexbootError(.ioError, "binding to \(name)", cause: Errno(errno)) }
        var ifindex = Int32(bitPattern: index)
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &ifindex, socklen_t(MemoryLayout<Int32>.size))
        var hops: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = DHCPv6.clientPort.bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard rc == 0 else { throw KexbootError(.ioError, "binding UDP port 546", cause: Errno(errno)) }
    }

    deinit {
        close(fd)
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Until a termination signal: acquire, keep and renew leases.
    public func run() {
        let base = ["interface": configuration.interface, "family": "inet6"]
        report("deconfig", base)
        while !stopped {
            guard let lease = acquire() else { break }
            log("bound \(lease.address) (valid \(lease.valid) s) from \(DHCPv6.hex(lease.serverID))")
            report("bound", lease.variables(interface: configuration.interface))
            if !keep(lease) { break }
            report("deconfig", base)
        }
    }

    // MARK: The exchanges

    /// Solicit and Request until a lease is bound; `nil` when stopped. A server that
    /// refused a Request is asked again only when no other one advertises, and each
    /// refusal in a row doubles the wait before the next Solicit (up to the Solicit cap).
    func acquire() -> Lease? {
        var lastFail = Self.now()
        var refused: [[UInt8]] = []
        var refusalDelay = 0.0
        while !stopped {
            waitForLinkLocal()
            if stopped { return nil }
            let solicit = exchange(.solicit, irt: 1, mrt: solicitMaxInterval, mrc: 0,
                                   deadline: .infinity, leasefailFrom: lastFail, avoid: refused) { [self] elapsed in
                var options = commonOptions(elapsed) + [DHCPv6Option.iaNA(id: iaid)]
                if configuration.rapidCommit { options.append(DHCPv6Option(.rapidCommit)) }
                return options
            }
            guard let answer = solicit else { return nil }
            if answer.kind == .reply, let lease = Lease(reply: answer, iaid: iaid) { return lease }
            guard answer.kind == .advertise, let server = answer.serverID else { continue }
            let asked = answer.addressAssociations.first { $0.id == iaid }?.usableAddresses ?? []
            let reply = exchange(.request, irt: 1, mrt: 30, mrc: 10, deadline: .infinity, leasefailFrom: nil) { [self] elapsed in
                commonOptions(elapsed) + [DHCPv6Option(.serverID, server),
                                          DHCPv6Option.iaNA(id: iaid, addresses: asked.map { DHCPv6IAAddress(address: $0.address) })]
            }
            if let reply, let lease = Lease(reply: reply, iaid: iaid) { return lease }
            if stopped { return nil }
            if !refused.contains(server) { refused.append(server) }
            refusalDelay = min(refusalDelay == 0 ? 1 : refusalDelay * 2, solicitMaxInterval)
            log("the server gave no address (\(reply?.status?.message ?? reply?.addressAssociations.first?.status?.message ?? "no reply")); "
                + "soliciting again in \(Int(refusalDelay.rounded())) s")
            report("nak", ["interface": configuration.interface, "family": "inet6"])
            sleep(seconds: refusalDelay * (1 + Double.random(in: 0...0.1)))
            lastFail = Self.now()
        }
        return nil
    }

    /// Holds `lease`: Renew from T1, Rebind from T2, until it expires (true: solicit
    /// again) or the client is stopped (false, after a Release).
    /// A new address whose duplicate address detection fails (another host has it) is
    /// declined (RFC 8415 §18.2.8), and the client solicits again (true).
    func keep(_ first: Lease) -> Bool {
        var lease = first
        var watch = true
        while true {
            let start = Self.now()
            let forever = UInt32.max
            let expiry = lease.valid == forever ? Double.infinity : start + Double(lease.valid)
            let t1 = lease.t1 == forever ? Double.infinity : start + Double(lease.t1)
            let t2 = lease.t2 == forever ? Double.infinity : start + Double(lease.t2)
            if watch {
                watch = false
                if duplicate(lease.address, until: min(t1, start + configuration.dadWatch)) {
                    log("\(lease.address) is another host's (duplicate address detection failed); declining it")
                    decline(lease)
                    if stopped { return false }
                    return true
                }
                if stopped { release(lease); return false }
            }
            // At least a second between renewals, whatever T1 says (a server answering
            // T1 = 0 and preferred lifetime 0 must not make this spin).
            sleep(until: max(t1, start + 1))
            if stopped { release(lease); return false }
            let held = lease
            // A Reply that neither renews the address nor says the binding is gone (a
            // passing failure) does not end the renewal: retransmission goes on.
            let decisive: (DHCPv6Message) -> Bool = { [iaid] reply in
                Lease(reply: reply, iaid: iaid) != nil
                    || reply.addressAssociations.contains { $0.id == iaid && $0.status?.code == DHCPv6Status.noBinding }
            }
            var renewed = exchange(.renew, irt: 10, mrt: 600, mrc: 0, deadline: t2, leasefailFrom: nil, accept: decisive) { [self] elapsed in
                commonOptions(elapsed) + [DHCPv6Option(.serverID, held.serverID), iaOption(held)]
            }
            if renewed == nil, !stopped {
                renewed = exchange(.rebind, irt: 10, mrt: 600, mrc: 0, deadline: expiry, leasefailFrom: nil, accept: decisive) { [self] elapsed in
                    commonOptions(elapsed) + [iaOption(held)]
                }
            }
            if stopped { release(lease); return false }
            guard let reply = renewed, let next = Lease(reply: reply, iaid: iaid) else {
                log(renewed == nil ? "the lease on \(lease.address) expired" : "the server no longer knows \(lease.address)")
                return true
            }
            if next.address != lease.address {
                // A different address: the old one is gone, the new one is a new lease.
                watch = true
                report("deconfig", ["interface": configuration.interface, "family": "inet6"])
                report("bound", next.variables(interface: configuration.interface))
            } else {
                report("renew", next.variables(interface: configuration.interface))
            }
            lease = next
        }
    }

    /// One Release, and a short wait for its Reply: the daemon stopping this client gives
    /// it a second before SIGKILL, so the RFC's four retransmissions do not fit.
    func release(_ lease: Lease) {
        let xid = UInt32.random(in: 0...0xFF_FFFF)
        let message = DHCPv6Message(.release, transactionID: xid, options: commonOptions(0) + [DHCPv6Option(.serverID, lease.serverID), iaOption(lease)])
        guard send(message) else { return }
        log("released \(lease.address)")
        let deadline = Self.now() + 0.5
        while let m = receive(until: deadline), !(m.kind == .reply && m.transactionID == xid) {}
    }

    /// Decline: the address goes back to the server as one in use elsewhere (IRT 1 s,
    /// at most 5 sends), whether or not it answers.
    func decline(_ lease: Lease) {
        _ = exchange(.decline, irt: 1, mrt: 0, mrc: 5, deadline: Self.now() + 16, leasefailFrom: nil) { [self] elapsed in
            commonOptions(elapsed) + [DHCPv6Option(.serverID, lease.serverID), iaOption(lease)]
        }
    }

    /// Whether `address`, once the interface carries it, fails duplicate address
    /// detection before `deadline`. false as soon as detection is over (or off).
    func duplicate(_ address: String, until deadline: Double) -> Bool {
        guard let bytes = DHCPv6.address(address) else { return false }
        let key = DHCPv6.hex(bytes)
        while !stopped, Self.now() < deadline {
            if let flags = addressFlags(key) {
                // IFA_F_DADFAILED 0x08, IFA_F_TENTATIVE 0x40
                if flags & 0x08 != 0 { return true }
                if flags & 0x40 == 0 { return false }
            }
            sleep(seconds: 0.2)
        }
        return false
    }

    /// The flags `/proc/net/if_inet6` shows for an address (32 hex digits) on the interface.
    func addressFlags(_ key: String) -> UInt32? {
        guard let bytes = try? DirectoryFileSource(root: "/").read(configuration.procInet6, limit: 1 << 20) else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count >= 6, f[5] == configuration.interface, f[0] == key { return UInt32(f[4], radix: 16) }
        }
        return nil
    }

    func iaOption(_ lease: Lease) -> DHCPv6Option {
        guard let address = DHCPv6.address(lease.address) else { return DHCPv6Option.iaNA(id: iaid) }
        return DHCPv6Option.iaNA(id: iaid, addresses: [DHCPv6IAAddress(address: address)])
    }

    func commonOptions(_ elapsed: Double) -> [DHCPv6Option] {
        [DHCPv6Option(.clientID, duid), DHCPv6Option.elapsed(seconds: elapsed), DHCPv6Option.kexbootRequests,
         DHCPv6Option.vendorClass(PXEArchitecture.vendorClass(configuration.architecture)),
         DHCPv6Option.architecture(configuration.architecture), DHCPv6Option.networkInterface]
    }

    /// Sends a message built by `options` and retransmits it the RFC 8415 §15 way
    /// (RT = IRT ± 10 %, doubling, capped at MRT ± 10 %; at most MRC sends; never past
    /// `deadline`) until an answer comes. For a Solicit the answer is the best Advertise
    /// of the first interval (highest preference, the first among equals; preference 255
    /// at once), any Advertise after that, or a Rapid Commit Reply; a server in `avoid`
    /// (one that refused us) only when no other one advertised in that interval. `nil`
    /// when the exchange gave up or the client was stopped. A server's SOL_MAX_RT caps
    /// the Solicit's interval from then on.
    func exchange(_ kind: DHCPv6Message.Kind, irt: Double, mrt: Double, mrc: Int, deadline: Double, leasefailFrom: Double?,
                  avoid: [[UInt8]] = [], accept: (DHCPv6Message) -> Bool = { _ in true },
                  options: (Double) -> [DHCPv6Option]) -> DHCPv6Message? {
        let xid = UInt32.random(in: 0...0xFF_FFFF)
        let start = Self.now()
        // The first Solicit's jitter is positive only (RFC 8415 §18.2.1).
        var rt = irt * (1 + Double.random(in: kind == .solicit ? 0.0...0.1 : -0.1...0.1))
        var sent = 0
        var best: DHCPv6Message?, fallback: DHCPv6Message?
        var nextLeasefail = leasefailFrom.map { $0 + configuration.leasefailAfter }
        while !stopped {
            let now = Self.now()
            if now >= deadline { return nil }
            _ = send(DHCPv6Message(kind, transactionID: xid, options: options(now - start)))
            sent += 1
            let until = min(now + rt, deadline)
            while let m = receive(until: until) {
                guard m.transactionID == xid, m.clientID == duid, let server = m.serverID else { continue }
                if let cap = m.solicitMaxRT, Double(min(cap, 3600)) != solicitMaxInterval {
                    solicitMaxInterval = Double(min(cap, 3600))
                    log("the server's SOL_MAX_RT: Solicits at most \(Int(solicitMaxInterval)) s apart")
                }
                if kind == .solicit {
                    if m.kind == .reply, configuration.rapidCommit, m.rapidCommit { return m }
                    guard m.kind == .advertise else { continue }
                    // An Advertise with no address for us is not an offer (RFC 8415 §18.2.9).
                    guard m.addressAssociations.contains(where: { $0.id == iaid && !$0.usableAddresses.isEmpty }) else {
                        log("an Advertise without an address (\(m.status?.message ?? "no status")) was ignored")
                        continue
                    }
                    if avoid.contains(server) {
                        if fallback == nil || m.preference > fallback!.preference { fallback = m }
                        continue
                    }
                    if m.preference == 255 || sent > 1 { return m }
                    if best == nil || m.preference > best!.preference { best = m }
                } else if m.kind == .reply, accept(m) {
                    return m
                }
            }
            if stopped { return nil }
            if let chosen = best ?? fallback { return chosen }
            if mrc > 0, sent >= mrc { return nil }
            if let due = nextLeasefail, Self.now() >= due {
                log("no DHCPv6 server has answered yet")
                report("leasefail", ["interface": configuration.interface, "family": "inet6"])
                nextLeasefail = due + configuration.leasefailAfter
            }
            rt = 2 * rt + Double.random(in: -0.1...0.1) * rt
            let cap = kind == .solicit ? solicitMaxInterval : mrt
            if cap > 0, rt > cap { rt = cap * (1 + Double.random(in: -0.1...0.1)) }
        }
        return nil
    }

    // MARK: The socket

    /// Sends to All_DHCP_Relay_Agents_and_Servers on the interface. A failure (no usable
    /// link-local address yet, the link down) is logged; retransmission tries again.
    @discardableResult
    func send(_ message: DHCPv6Message) -> Bool {
        var to = sockaddr_in6()
        to.sin6_family = sa_family_t(AF_INET6)
        to.sin6_port = DHCPv6.serverPort.bigEndian
        to.sin6_scope_id = index
        let group = DHCPv6.address(DHCPv6.serversAddress)!
        withUnsafeMutableBytes(of: &to.sin6_addr) { raw in for i in 0..<16 { raw[i] = group[i] } }
        let bytes = message.bytes
        let n = withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        if n != bytes.count {
            log("sending a \(message.kind): \(Errno(errno))")
            return false
        }
        return true
    }

    /// The next well-formed message before `deadline`; `nil` at the deadline or on a
    /// termination signal (which sets `stopped`). Garbage is dropped without a word.
    func receive(until deadline: Double) -> DHCPv6Message? {
        // A UDP payload's largest size: a bigger Reply (many options) is not cut short.
        var buffer = [UInt8](repeating: 0, count: 65535)
        while !stopped {
            let left = deadline - Self.now()
            if left <= 0 { return nil }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)]
            let timeout = left.isInfinite ? -1 : Int32(min(left * 1000 + 1, 86_400_000))
            let rc = poll(&fds, 2, timeout)
            if rc < 0 && errno != EINTR { return nil }
            if fds[1].revents != 0 {
                if signals.consume() {
                    stopped = true
                    return nil
                }
            }
            if fds[0].revents != 0 {
                let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n > 0, let m = DHCPv6Message(bytes: buffer[..<n]) { return m }
            }
        }
        return nil
    }

    func sleep(seconds: Double) { sleep(until: Self.now() + seconds) }

    /// Waits (dropping whatever arrives) until `deadline` or a termination signal.
    func sleep(until deadline: Double) {
        while !stopped, Self.now() < deadline { _ = receive(until: deadline) }
    }

    /// Waits until the interface has a link-local address that finished duplicate address
    /// detection: before that the kernel has no source address for the Solicit.
    func waitForLinkLocal() {
        var said = false
        while !stopped {
            if hasUsableLinkLocal() { return }
            if !said { log("waiting for a link-local address on \(configuration.interface)") }
            said = true
            sleep(seconds: 0.2)
        }
    }

    /// `/proc/net/if_inet6`: address, index, prefix, scope (0x20 link), flags, name.
    func hasUsableLinkLocal() -> Bool {
        // No file: the kernel has no IPv6 (ipv6.disable=1), so no link-local address either.
        guard let bytes = try? DirectoryFileSource(root: "/").read(configuration.procInet6, limit: 1 << 20) else { return false }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[5] == configuration.interface, f[3] == "20", let flags = UInt32(f[4], radix: 16) else { continue }
            // IFA_F_TENTATIVE 0x40, IFA_F_DADFAILED 0x08
            if flags & 0x48 == 0 { return true }
        }
        return false
    }
}
