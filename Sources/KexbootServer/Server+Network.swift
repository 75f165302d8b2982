#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import KexbootConfig
import KexbootCore
import KexbootNet
import KexbootOS

/// One interface the daemon looks after.
struct ManagedLink {
    var interface: NetInterface
    var method: String
    /// The DHCP client's pid, when one runs.
    var client: pid_t?
    var lease: DHCPLease?
    /// The address kexboot put on the interface (to take it off again).
    var applied: (address: String, prefix: Int)?
    /// The DHCPv6 client, its lease and the address (and prefix) it put on the
    /// interface: kept apart from IPv4's, so neither lease clobbers the other.
    var client6: pid_t?
    var lease6: DHCPLease?
    var applied6: (address: String, prefix: Int)?
    /// The DHCPv6 client's `leasefail` was logged (once is enough), and its `nak`.
    var quiet6 = false
    var quietNak6 = false
    /// When the DHCPv6 client was started, how many times in a row it ended at once,
    /// and when it may be started again.
    var started6 = 0.0
    var quickExits6 = 0
    var retry6 = 0.0
    /// The last PXE lookup found no config (a refresh tries again).
    var lookupFailed = false

    /// The lease the boot config is looked up from: IPv4's when it carries a boot hint,
    /// else IPv6's when that one does, else whichever there is.
    var bootLease: DHCPLease? {
        for l in [lease, lease6] {
            if let l, l.bootFile != nil || l.configFile != nil || l.pathPrefix != nil || l.tftpServer != nil { return l }
        }
        return lease ?? lease6
    }

    /// The DNS servers of both leases, IPv4's first.
    var dns: [String] { (lease?.dns ?? []) + (lease6?.dns ?? []) }
}

extension Server {
    var deviceIDPrefix: String { "net-" }

    /// Brings Ethernet interfaces up as they appear (not lo, not tun/tap, not those the
    /// config marks `ignore`), runs DHCP on them (or applies the static settings), and
    /// turns each lease into a network device whose boot config is looked up the PXE way.
    func startNetwork() {
        do {
            let netlink = try Netlink()
            let monitor = try Netlink(groups: 1) // RTMGRP_LINK: interfaces coming and going
            self.netlink = netlink
            self.linkMonitor = monitor
            loop.register(monitor.fd, events: Int16(POLLIN)) { [self] _ in
                if monitor.drain() { refreshInterfaces() }
            }
            let socket = settings.runDirectory + "/dhcp.sock"
            let fd = try Datagram.listen(socket)
            dhcpSocket = fd
            loop.register(fd, events: Int16(POLLIN)) { [self] _ in
                while let message = Datagram.receive(fd) { dhcpEvent(message) }
            }
            try writeDHCPScript()
        } catch {
            log(.error, "network: \(error); network boot is off")
            stopNetwork()
            netlink = nil
            return
        }
        refreshInterfaces()
    }

    var dhcpScript: String { settings.runDirectory + "/udhcpc.script" }

    /// The script udhcpc runs: written once, whole, before any client starts.
    func writeDHCPScript() throws {
        guard let exe = Child.executable else { throw KexbootError(.ioError, "cannot find kexboot's own executable for the DHCP script") }
        let text = "#!/bin/sh\nexec '\(exe)' dhcp-hook \"$1\"\n"
        let temporary = dhcpScript + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o700)
        guard fd >= 0 else { throw KexbootError(.ioError, "creating \(temporary)", cause: Errno(errno)) }
        let written = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        guard written == text.utf8.count, rename(temporary, dhcpScript) == 0 else {
            throw KexbootError(.ioError, "writing \(dhcpScript)", cause: Errno(errno))
        }
    }

    func stopNetwork() {
        Child.stop(links.values.compactMap(\.client) + links.values.compactMap(\.client6))
        for name in links.keys {
            links[name]?.client = nil
            links[name]?.client6 = nil
        }
        if let fd = dhcpSocket { loop.unregister(fd); close(fd); dhcpSocket = nil }
        if let monitor = linkMonitor { loop.unregister(monitor.fd) }
        linkMonitor = nil
    }

    func interfaceSettings(_ name: String) -> DaemonConfig.Interface? {
        config.interfaces.first { $0.name == name }
    }

    /// Compares what sysfs lists with what is managed: starts new interfaces, forgets gone ones.
    func refreshInterfaces() {
        let present = NetInterface.all(sysfs: settings.sysfsNet).filter { i in
            i.bootable && (settings.interfaces.isEmpty || settings.interfaces.contains(i.name))
        }
        for gone in links.keys where !present.contains(where: { $0.name == gone }) {
            Child.stop([links[gone]?.client, links[gone]?.client6].compactMap { $0 })
            links[gone] = nil
            if routeOwner == gone { routeOwner = nil }
            log(.info, "\(gone): gone")
            forgetConfigs(of: gone)
            reconsiderAutoboot()
        }
        // A DHCP client that died is started again.
        for (name, link) in links {
            if let pid = link.client, Child.ended(pid) {
                log(.warning, "\(name): the DHCP client ended; starting it again")
                links[name]?.client = try? startDHCP(link.interface)
            }
            if let pid = link.client6, Child.ended(pid) {
                links[name]?.client6 = nil
                // Started again at once; but one that keeps ending within seconds (a broken
                // --dhcp6-client) after 2, 4, 8… refresh intervals (at most an hour), and
                // said once.
                let now = EventLoop.now()
                let exits = now - link.started6 < 10 ? link.quickExits6 + 1 : 0
                links[name]?.quickExits6 = exits
                links[name]?.retry6 = exits < 2 ? 0 : now + min(Double(max(config.networkRefresh, 1)) * Double(1 << min(exits - 1, 12)), 3600)
                if exits < 2 {
                    log(.warning, "\(name): the DHCPv6 client ended; starting it again")
                } else if exits == 2 {
                    log(.warning, "\(name): the DHCPv6 client keeps ending at once; starting it again after longer and longer waits")
                }
            }
            if links[name]?.client6 == nil, link.method != "dhcp4", link.method != "static", link.method != "ignore",
               link.quickExits6 > 0 || link.client6 != nil, EventLoop.now() >= links[name]?.retry6 ?? 0 {
                startClient6(name)
            }
        }
        for i in present where links[i.name] == nil {
            let method = interfaceSettings(i.name)?.method ?? "dhcp"
            var link = ManagedLink(interface: i, method: method)
            if method == "ignore" {
                links[i.name] = link
                log(.info, "\(i.name): ignored (config)")
                continue
            }
            do {
                try netlink?.setUp(i.index)
            } catch {
                log(.error, "\(i.name): \(error)")
            }
            if method == "static" {
                links[i.name] = link
                applyStatic(i)
                continue
            }
            // `dhcp` asks both DHCP and DHCPv6; `dhcp4` and `dhcp6` only the one.
            if method != "dhcp6" {
                do {
                    link.client = try startDHCP(i)
                    log(.info, "\(i.name): up (\(i.mac)), asking DHCP")
                } catch {
                    log(.error, "\(i.name): \(error)")
                }
            }
            links[i.name] = link
            if method != "dhcp4" { startClient6(i.name, first: true) }
        }
    }

    /// Starts the link's DHCPv6 client, unless the kernel has no IPv6 (no
    /// /proc/net/if_inet6: said once).
    func startClient6(_ name: String, first: Bool = false) {
        guard let link = links[name] else { return }
        guard access(settings.procInet6, F_OK) == 0 else {
            if !noIPv6Said { log(.info, "the kernel has no IPv6 (no \(settings.procInet6)): no DHCPv6") }
            noIPv6Said = true
            return
        }
        do {
            links[name]?.client6 = try startDHCP6(link.interface)
            links[name]?.started6 = EventLoop.now()
            if first, links[name]?.client6 != nil { log(.info, "\(name): asking DHCPv6") }
        } catch {
            log(.error, "\(name): DHCPv6: \(error)")
        }
    }

    /// Drops the configs an interface's lease led to, and its device.
    func forgetConfigs(of name: String) {
        for url in urls where urlSources[url]?.interface?.name == name {
            urls.removeAll { $0 == url }
            urlSources[url] = nil
            urlIDs[url] = nil
            diskGenerations[url, default: 0] += 1
            for id in registry.devices(onDisk: url) { broadcast(registry.remove(device: id)) }
        }
        for id in registry.devices(onDisk: "net:" + name) { broadcast(registry.remove(device: id)) }
        let id = deviceIDPrefix + name
        if registry.device(id) != nil { broadcast(registry.remove(device: id)) }
    }

    /// A client a killed daemon left behind (SIGKILL, OOM) would fight the new one for
    /// the interface: its pid file says which, and it goes first. `marker` must be in its
    /// command line (with the pid file), so a reused pid is left alone.
    func stopStaleClient(pidFile: String, marker: String, _ name: String) {
        if let bytes = try? DirectoryFileSource(root: "/").read(pidFile, limit: 64),
           let stale = pid_t(String(decoding: bytes, as: UTF8.self).trimmingBlanks()), stale > 1,
           let cmdline = try? DirectoryFileSource(root: "/").read("/proc/\(stale)/cmdline", limit: 4096),
           String(decoding: cmdline, as: UTF8.self).contains(marker),
           String(decoding: cmdline, as: UTF8.self).contains(pidFile) {
            log(.info, "\(name): stopping the DHCP client an earlier daemon left (pid \(stale))")
            kill(stale, SIGTERM)
            for _ in 0..<50 where kill(stale, 0) == 0 { usleep(20_000) }
            if kill(stale, 0) == 0 { kill(stale, SIGKILL) }
        }
    }

    func startDHCP(_ i: NetInterface) throws -> pid_t {
        let pidFile = settings.runDirectory + "/udhcpc-\(i.name).pid"
        stopStaleClient(pidFile: pidFile, marker: "udhcpc", i.name)
        let script = dhcpScript
        let code = PXEArchitecture.code(efi: access("/sys/firmware/efi", F_OK) == 0)
        let args = settings.dhcpClient + PXEArchitecture.udhcpcArguments(interface: i.name, script: script, code: code)
            + ["-p", pidFile]
        return try spawnClient(args, log: settings.runDirectory + "/udhcpc-\(i.name).log")
    }

    /// A DHCP client with the hook's socket in its environment (and `extra`), at nice 10:
    /// the client and the hooks it runs yield the CPU to disk discovery and booting, so on
    /// a one-CPU machine a lease does not delay the menu of a local disk.
    func spawnClient(_ args: [String], log: String, extra: [String: String] = [:]) throws -> pid_t {
        let environment = ["KEXBOOT_DHCP_SOCKET": settings.runDirectory + "/dhcp.sock", "PATH": "/sbin:/bin:/usr/sbin:/usr/bin"]
            .merging(extra) { $1 }
        let pid = try Child.spawn(args, environment: environment, log: log)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), 10)
        return pid
    }

    /// The DHCPv6 client (`kexboot dhcp6`, or `--dhcp6-client`), run like udhcpc with the
    /// same script; `nil` when DHCPv6 is turned off (an empty `--dhcp6-client`).
    func startDHCP6(_ i: NetInterface) throws -> pid_t? {
        var command = settings.dhcp6Client ?? []
        if settings.dhcp6Client == nil {
            guard let exe = Child.executable else { throw KexbootError(.ioError, "cannot find kexboot's own executable") }
            command = [exe, "dhcp6"]
        }
        guard !command.isEmpty else { return nil }
        let pidFile = settings.runDirectory + "/dhcp6-\(i.name).pid"
        stopStaleClient(pidFile: pidFile, marker: "dhcp6", i.name)
        let args = command + ["-f", "-i", i.name, "-s", dhcpScript, "-p", pidFile]
        // `family=inet6` in the client's environment reaches the script through any client
        // that passes its environment on (udhcpc6 does): its events are told from IPv4's.
        return try spawnClient(args, log: settings.runDirectory + "/dhcp6-\(i.name).log", extra: ["family": "inet6"])
    }

    /// A message from `kexboot dhcp-hook`: the event and udhcpc's variables.
    func dhcpEvent(_ bytes: [UInt8]) {
        guard let value = try? JSONValue.parse(bytes), case .object(let members) = value else {
            log(.warning, "dhcp: an unreadable message was dropped")
            return
        }
        var env: [String: String] = [:]
        for (k, v) in members { if let s = v.stringValue { env[k] = s } }
        let event = env["event"] ?? ""
        let lease = DHCPLease(environment: env)
        guard var link = links[lease.interface] else {
            log(.warning, "dhcp: \(event) for \(lease.interface), which kexboot does not manage")
            return
        }
        if lease.isIPv6 { return dhcp6Event(event, lease, link) }
        switch event {
        case "deconfig":
            if let applied = link.applied {
                try? netlink?.removeAddress(link.interface.index, applied.address, prefix: applied.prefix)
                link.applied = nil
            }
            link.lease = nil
            links[lease.interface] = link
            if routeOwner == lease.interface { routeOwner = nil }
        case "bound", "renew":
            guard let address = lease.address else { return }
            let prefix = lease.prefixLength ?? 24
            do {
                if let old = link.applied, old.address != address || old.prefix != prefix {
                    try? netlink?.removeAddress(link.interface.index, old.address, prefix: old.prefix)
                }
                try netlink?.addAddress(link.interface.index, address, prefix: prefix)
                link.applied = (address, prefix)
                // One default route: the first interface to get a lease keeps it (another
                // lease must not take the way to the boot server away).
                if let gateway = lease.routers.first, routeOwner == nil || routeOwner == lease.interface {
                    try netlink?.addDefaultRoute(link.interface.index, gateway: gateway)
                    routeOwner = lease.interface
                }
            } catch {
                log(.error, "\(lease.interface): \(error)")
            }
            let before = link.bootLease
            link.lease = lease
            links[lease.interface] = link
            if routeOwner == lease.interface { writeResolvConf(dns: link.dns, domain: lease.domain ?? link.lease6?.domain) }
            let changed = bootInfoChanged(before, link.bootLease)
            log(.info, "\(lease.interface): \(event) \(address)/\(prefix) from \(lease.serverID ?? "?")"
                + (lease.bootFile.map { ", boot file \($0)" } ?? "") + (lease.configFile.map { ", config \($0)" } ?? ""))
            if changed {
                forgetConfigs(of: lease.interface)
                leaseArrived(link)
            } else {
                updateAddresses(link)
            }
            if refreshTimer == nil { scheduleRefresh(after: Double(config.networkRefresh)) }
        case "leasefail", "nak":
            log(.warning, "\(lease.interface): DHCP \(event == "nak" ? "refused (NAK)" : "found no server yet")")
        default:
            break
        }
    }

    /// A DHCPv6 event from `kexboot dhcp6`: the address goes on the interface as a /128
    /// (the prefix's route comes from router advertisements), DNS into resolv.conf, and a
    /// boot-file URL (option 59) leads to the PXE lookup when IPv4 gave no boot hint.
    func dhcp6Event(_ event: String, _ lease: DHCPLease, _ link: ManagedLink) {
        var link = link
        let name = lease.interface
        switch event {
        case "deconfig":
            if let applied = link.applied6 {
                try? netlink?.removeAddress(link.interface.index, applied.address, prefix: applied.prefix)
                link.applied6 = nil
            }
            let lost = link.lease6
            link.lease6 = nil
            links[name] = link
            // The device no longer shows the address, nor resolv.conf the lease's servers.
            updateAddresses(link)
            if let lost, !lost.dns.isEmpty, routeOwner == nil || routeOwner == name {
                writeResolvConf(dns: link.dns, domain: link.lease?.domain, removing: true)
            }
        case "bound", "renew":
            guard let address = lease.address else { return }
            let prefix = lease.prefixLength ?? 128
            do {
                if let old = link.applied6, old.address != address || old.prefix != prefix {
                    try? netlink?.removeAddress(link.interface.index, old.address, prefix: old.prefix)
                    link.applied6 = nil
                }
                try netlink?.addAddress(link.interface.index, address, prefix: prefix)
                link.applied6 = (address, prefix)
            } catch {
                // An address the interface does not carry is no lease (nor is the earlier
                // one, when its address was just taken off).
                log(.error, "\(name): \(error)")
                if link.applied6 == nil { link.lease6 = nil }
                links[name] = link
                updateAddresses(link)
                return
            }
            let before = link.bootLease
            link.lease6 = lease
            link.quiet6 = false
            link.quietNak6 = false
            links[name] = link
            if routeOwner == nil || routeOwner == name { writeResolvConf(dns: link.dns, domain: link.lease?.domain ?? lease.domain) }
            log(.info, "\(name): DHCPv6 \(event) \(address) from \(lease.serverID ?? "?")"
                + (lease.bootFile.map { ", boot file \($0)" } ?? ""))
            if bootInfoChanged(before, link.bootLease) {
                forgetConfigs(of: name)
                leaseArrived(link)
            } else {
                updateAddresses(link)
            }
            if refreshTimer == nil { scheduleRefresh(after: Double(config.networkRefresh)) }
        case "leasefail":
            // Many networks have no DHCPv6 server: said once (until a lease), not every 20 s.
            if !link.quiet6 { log(.info, "\(name): DHCPv6 found no server yet") }
            links[name]?.quiet6 = true
        case "nak":
            // A server that keeps refusing: said once (until a lease).
            if !link.quietNak6 { log(.warning, "\(name): DHCPv6 gave no address") }
            links[name]?.quietNak6 = true
        default:
            break
        }
    }

    func bootInfoChanged(_ before: DHCPLease?, _ after: DHCPLease?) -> Bool {
        guard let before, let after else { return true }
        return !sameBootInfo(before, after)
    }

    /// The device shows the link's current addresses (IPv4 in `address`, IPv6 in
    /// `address6`; an IPv6-only link has its IPv6 address in both).
    func updateAddresses(_ link: ManagedLink) {
        let id = deviceIDPrefix + link.interface.name
        guard var device = registry.device(id) else { return }
        let address = link.lease?.address ?? link.lease6?.address, address6 = link.lease6?.address
        guard device.address != address || device.address6 != address6 else { return }
        device.address = address
        device.address6 = address6
        broadcast(registry.set(device, options: registry.options(of: id)))
    }

    func networkVariables(_ lease: DHCPLease, _ link: ManagedLink) -> [(String, String)] {
        lease.variables(mac: link.interface.mac) + (settings.uuid.map { [("net_default_uuid", $0)] } ?? [])
    }

    /// Arms the refresh timer; an earlier deadline already set stands.
    func scheduleRefresh(after seconds: Double) {
        guard seconds > 0 else { return }
        let due = EventLoop.now() + seconds
        if let timer = refreshTimer {
            if refreshDue <= due { return }
            loop.cancel(timer: timer)
        }
        refreshDue = due
        refreshTimer = loop.schedule(after: seconds) { [self] in
            refreshTimer = nil
            refreshNetwork()
        }
    }

    /// Reads every network config again (a changed menu shows up; one that failed
    /// may work now), retries failed PXE lookups and a missing `kexboot.url=`; then
    /// arms itself again.
    func refreshNetwork() {
        guard !booting, !refreshing else {
            scheduleRefresh(after: Double(config.networkRefresh))
            return
        }
        refreshInterfaces()
        let pending = urls.filter { !$0.hasPrefix("file://") }
        refreshing = !pending.isEmpty
        // The round is over when its last read has answered (the queue is serial).
        for (i, url) in pending.enumerated() {
            readURLAgain(url, keepOnFailure: true) { [self] in if i == pending.count - 1 { refreshing = false } }
        }
        for link in links.values where link.lookupFailed { leaseArrived(link) }
        if let url = switches.url, !url.hasPrefix("file://"), !urls.contains(url),
           links.values.contains(where: { $0.lease != nil || $0.applied != nil || $0.lease6 != nil }) {
            addURL(url) { _ in }
        }
        scheduleRefresh(after: Double(config.networkRefresh))
    }

    func sameBootInfo(_ a: DHCPLease, _ b: DHCPLease) -> Bool {
        a.isIPv6 == b.isIPv6 && a.address == b.address && a.bootFile == b.bootFile && a.configFile == b.configFile
            && a.pathPrefix == b.pathPrefix && a.bootServer == b.bootServer
    }

    /// `removing`: a lease went, so even no servers at all is written (the lost lease's
    /// must not stay).
    func writeResolvConf(dns: [String], domain: String?, removing: Bool = false) {
        guard !dns.isEmpty || removing else { return }
        var text = "# written by kexboot from DHCP\n"
        if let domain { text += "search \(domain)\n" }
        for server in dns { text += "nameserver \(server)\n" }
        let path = settings.resolvConf
        let temporary = path + ".kexboot"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return log(.warning, "cannot write \(path): \(Errno(errno))") }
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        if rename(temporary, path) != 0 { log(.warning, "cannot replace \(path): \(Errno(errno))") }
    }

    /// The lease as a device, then the PXE lookup (unless `kexboot.url=` names the config).
    func leaseArrived(_ link: ManagedLink) {
        guard let lease = link.bootLease else { return }
        let name = link.interface.name
        let id = deviceIDPrefix + name
        var device = ServerDevice(id: id, type: "network", disk: "net:" + name, node: name, size: 0)
        device.mac = link.interface.mac
        device.interface = name
        device.address = link.lease?.address ?? link.lease6?.address
        device.address6 = link.lease6?.address
        if registry.device(id) == nil || registry.options(of: id).isEmpty {
            broadcast(registry.set(device, options: []))
        }
        if let url = switches.url {
            // kexboot.url= names the config: DHCP's hints are not used.
            if registry.devices(onDisk: url).isEmpty { addURL(url, env: networkVariables(lease, link)) { _ in } }
            return
        }
        guard let lookup = PXELookup(lease: lease, mac: link.interface.mac, uuid: settings.uuid) else {
            log(.info, "\(name): the lease names no boot server")
            return
        }
        let env = networkVariables(lease, link)
        let fetcher = self.fetcher
        netWork.async { [loop] in
            var found: String?
            var lastError: KexbootError?
            for candidate in lookup.candidates {
                do {
                    _ = try fetcher.fetchBytes(candidate)
                    found = candidate
                    break
                } catch let error as KexbootError {
                    lastError = error
                    // pxelinux tries every name; only an unreachable server ends the walk.
                    if error.code == .unreachable { break }
                } catch {}
            }
            let result = found, failure = lastError
            loop.execute { [self] in
                // The interface may be gone, or its lease changed, while the lookup ran.
                guard let current = links[name]?.bootLease, sameBootInfo(current, lease) else { return }
                guard let found = result else {
                    log(.warning, "\(name): no boot config (tried \(lookup.candidates.count)): \(failure.map { "\($0)" } ?? "nothing")")
                    // Try again later (DHCP option 211 says when; pxelinux would reboot).
                    links[name]?.lookupFailed = true
                    scheduleRefresh(after: Double(lease.rebootTime ?? config.networkRefresh))
                    return
                }
                links[name]?.lookupFailed = false
                log(.info, "\(name): boot config \(found)")
                addURL(found, prefix: lookup.prefix, env: env, id: id,
                       interface: (name, link.interface.mac, lease.address)) { _ in }
            }
        }
    }

    /// Static settings from `[interface NAME]`: address (CIDR), gateway, DNS.
    func applyStatic(_ i: NetInterface) {
        guard let s = interfaceSettings(i.name), let cidr = s.address else {
            return log(.warning, "\(i.name): method = static needs an address")
        }
        let parts = cidr.split(separator: "/")
        guard let first = parts.first, Netlink.ipv4(String(first)) != nil else {
            return log(.warning, "\(i.name): static address '\(cidr)' is not ADDRESS/PREFIX")
        }
        let address = String(first)
        let prefix = parts.count > 1 ? Int(parts[1]) ?? 24 : 24
        do {
            try netlink?.addAddress(i.index, address, prefix: prefix)
            links[i.name]?.applied = (address, prefix)
            if let gateway = s.gateway { try netlink?.addDefaultRoute(i.index, gateway: gateway) }
            writeResolvConf(dns: s.dns, domain: nil)
            log(.info, "\(i.name): static \(address)/\(prefix)")
            if let url = switches.url, registry.devices(onDisk: url).isEmpty { addURL(url) { _ in } }
        } catch {
            log(.error, "\(i.name): \(error)")
        }
    }
}
