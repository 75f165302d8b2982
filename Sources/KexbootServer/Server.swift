#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import KexbootConfig
import KexbootCore
import Synchronization
import KexbootDevices
import KexbootOS
internal import CKexboot
import KexbootProtocol

/// The daemon: owns discovery, the option registry, autoboot and booting, and serves
/// protocol v1 (docs/protocol.md) to any number of clients.
///
/// Everything mutable here is confined to the event loop's thread (`loop`); disk I/O runs
/// on `work`, whose results come back through `loop.execute`. That is the isolation an
/// actor would give, without an executor hop per socket read.
public final class Server: @unchecked Sendable {
    public struct Settings: Sendable {
        public var socket = "/run/kexboot.sock"
        public var listen: String?
        public var dryRun = false
        public var images: [String] = []
        /// Probe the machine's disks (and follow hotplug). Off when images are given,
        /// unless asked for.
        public var scanDisks = true
        public var configPath: String?
        public var noAutoboot = false
        /// Where the `kexboot.*` switches are read from.
        public var cmdline = "/proc/cmdline"
        public var runDirectory = "/run/kexboot"
        public var version = "0"
        /// Bring interfaces up and run DHCP on them (never in tests outside a namespace).
        public var network = false
        /// Only these interfaces (empty: all Ethernet-like ones).
        public var interfaces: [String] = []
        public var sysfsNet = "/sys/class/net"
        public var resolvConf = "/etc/resolv.conf"
        /// Absent when the kernel has no IPv6 (`ipv6.disable=1`): no DHCPv6 then.
        public var procInet6 = "/proc/net/if_inet6"
        /// The DHCP client: busybox's udhcpc.
        public var dhcpClient = ["udhcpc"]
        /// The DHCPv6 client, run with udhcpc's `-f -i IFACE -s SCRIPT -p PIDFILE`: `nil`
        /// for kexboot's own (`kexboot dhcp6`), empty for none.
        public var dhcp6Client: [String]?
        /// The machine's UUID, for the pxelinux lookup (from DMI when readable).
        public var uuid: String?
        /// Open Firmware clients (PReP payloads): where ofshim.elf and kexec-entry.bin are,
        /// the device tree to start from, and the boot disk's OF path when sysfs has none.
        public var shimDirectory = "/lib/kexboot"
        public var deviceTree = "/sys/firmware/fdt"
        public var ofBootpath: String?
        public init() {}
    }

    enum AutobootState: Equatable {
        case idle
        /// Counting down to `option`; `seconds` left.
        case counting(option: String, seconds: Int, timer: Int)
        /// The countdown ended but the settle window is still open.
        case settling(option: String, timer: Int)
        /// Waiting for a key (timeout -1).
        case waiting(option: String)
        case cancelled
        case disabled
        /// Autoboot started a boot (it does not start another unless that one fails).
        case done
    }

    let settings: Settings
    public let loop = EventLoop()
    let work = WorkQueue()
    /// Network lookups and config fetches, which can wait on slow servers: kept off `work`
    /// so disk scans and boots never queue behind them.
    lazy var netWork = WorkQueue()
    var config: DaemonConfig
    let switches: KernelSwitches
    var registry = Registry()
    let scanner: DiskScanner
    let booter: EntryBooter
    let mounts: MountSet
    var connections: [Int32: Connection] = [:]
    var listeners: [Int32: Connection.Transport] = [:]
    var nextConnection = 0
    var logLines: [String] = []
    /// Failed authentications by uid or TCP peer: how many, and until when that peer's
    /// next attempt waits.
    var authThrottle: [String: (failures: Int, until: Double)] = [:]
    /// Bumped whenever a disk is scanned or removed: a scan's result applies only if no
    /// newer event about its disk came after it was started.
    var diskGenerations: [String: Int] = [:]
    /// The devices and options of `list`, serialized, for `registry.generation`.
    var listCache: (generation: Int, text: String)?
    var autoboot = AutobootState.idle
    var tried: Set<String> = []
    var booting = false
    let started = EventLoop.now()
    /// Image files attached as disks, and the names their devices go by.
    var images: [String] = []
    var imageNames: [String: String] = [:]
    /// Configs added by URL (`add-url`, `kexboot.url=`) and the device ids they got.
    var urls: [String] = []
    /// How each URL was added (prefix, variables, device id, interface), so a rescan or
    /// refresh reads it the same way again.
    var urlSources: [String: URLSource] = [:]
    /// The network refresh timer, when it fires, and whether a round is still reading.
    var refreshTimer: Int?
    var refreshDue = 0.0
    var refreshing = false
    /// The interface whose lease set the default route and resolv.conf.
    var routeOwner: String?
    /// The kernel's lack of IPv6 was logged.
    var noIPv6Said = false
    /// The CA bundle built for `ca-file`, and from which file.
    var caBundle: (source: String, path: String?)?
    var urlIDs: [String: String] = [:]
    var nextURL = 0
    var monitor: UdevMonitor?
    var socketPath: String?
    var netlink: Netlink?
    var linkMonitor: Netlink?
    var dhcpSocket: Int32?
    var links: [String: ManagedLink] = [:]
    public private(set) var tcpPort: UInt16?
    /// Set as soon as the daemon is asked to stop: a fetch or copy in progress gives up.
    let stopping = StopFlag()
    /// The lock on the run directory: one daemon per run directory, so what is mounted
    /// under it and not by this daemon was left by a dead one.
    var runLock: Int32 = -1

    public init(settings: Settings) throws {
        self.settings = settings
        switches = KernelSwitches(path: settings.cmdline)
        if let path = settings.configPath {
            if let bytes = try? DirectoryFileSource(root: "/").read(path, limit: 1 << 20) {
                config = DaemonConfig(text: String(decoding: bytes, as: UTF8.self), path: path)
            } else {
                config = DaemonConfig(text: "", path: path)
            }
        } else {
            config = DaemonConfig()
        }
        _ = mkdir(settings.runDirectory, 0o700)
        mounts = try MountSet(base: settings.runDirectory + "/mnt")
        scanner = DiskScanner(mounts: mounts)
        booter = EntryBooter(mounts: mounts, stage: settings.runDirectory + "/boot", stopping: stopping)
    }

    deinit {
        if runLock >= 0 { close(runLock) }
    }

    /// Takes the run directory's lock, then releases the mounts (and so the loop devices)
    /// and staged files a daemon killed with SIGKILL left there: nothing catches SIGKILL,
    /// so the next daemon cleans up.
    func claimRunDirectory() throws {
        let path = settings.runDirectory + "/daemon.lock"
        runLock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard runLock >= 0 else { throw KexbootError(.ioError, "\(path)", cause: Errno(errno)) }
        guard flock(runLock, LOCK_EX | LOCK_NB) == 0 else {
            throw KexbootError(.invalidArgument, "another kexboot daemon uses \(settings.runDirectory)")
        }
        let stale = mounts.releaseStale()
        if !stale.isEmpty {
            log(.warning, "released \(stale.count) mount\(stale.count == 1 ? "" : "s") a previous daemon left under \(mounts.base): \(stale.joined(separator: ", "))")
        }
        booter.removeStaged()
    }

    // MARK: starting and stopping

    /// Opens the sockets and starts discovery. Throws when a socket cannot be opened.
    public func start() throws {
        for d in config.diagnostics { log(.error, "\(d)") }
        for word in switches.invalid { log(.error, "kernel command line: \(word): not auto, file or load; ignored") }
        var group: gid_t?
        if let name = config.socketGroup {
            if let gid = gid_t(name) {
                group = gid
            } else if let entry = getgrnam(name) {
                group = entry.pointee.gr_gid
            } else {
                log(.error, "socket-group: no group \(name); the socket stays root-only")
            }
        }
        try claimRunDirectory()
        let unixFD = try Socket.listen(.unix(settings.socket), mode: group == nil ? 0o600 : 0o660, group: group)
        socketPath = settings.socket
        addListener(unixFD, .unix)
        if let listen = settings.listen ?? config.listen {
            guard config.token != nil else {
                throw KexbootError(.invalidArgument, "--listen \(listen): the config sets no token, and a TCP listener without one would let anyone boot anything")
            }
            guard let address = Socket.Address.parseTCP(listen) else {
                throw KexbootError(.invalidArgument, "--listen \(listen): not HOST:PORT")
            }
            let fd = try Socket.listen(address)
            tcpPort = Socket.localPort(fd)
            addListener(fd, .tcp)
            log(.info, "listening on \(address.description.replacingPortZero(with: tcpPort)) (TCP, token required)")
        }
        if settings.noAutoboot || !config.autoboot || switches.autoboot == false { autoboot = .disabled }
        log(.info, "kexboot \(settings.version) daemon on \(settings.socket)\(settings.dryRun ? " (dry run)" : "")")
        for image in settings.images { attach(image: image, reply: nil) }
        // A network URL waits for the first lease (nothing can reach it before); a
        // file:// one is read at once.
        if let url = switches.url, !settings.network || url.hasPrefix("file://") { addURL(url) { _ in } }
        if settings.scanDisks { startDiskDiscovery() }
        if settings.network { startNetwork() }
    }

    /// Runs the event loop until `stop()`.
    public func run() {
        loop.run()
        shutdown()
    }

    /// Safe from any thread (the signal thread calls it): a boot fetching or copying a file
    /// gives up at once, and the event loop ends.
    public func stop() {
        stopping.set()
        loop.execute { [self] in loop.stop() }
    }

    /// How long stopping waits for the work queue (a boot loading its segments, a scan
    /// reading a disk) before it releases the mounts from under it.
    static let stopGrace = 10.0

    /// Releases every socket, mount and loop device (on stopping, and before a kexec).
    func shutdown() {
        for c in connections.values { c.flush(); c.close() }
        connections.removeAll()
        for fd in listeners.keys { close(fd) }
        listeners.removeAll()
        if let socketPath { unlink(socketPath) }
        monitor?.stop()
        stopNetwork()
        let done = Semaphore()
        work.async { [scanner, mounts, images] in
            mounts.unmountAll()
            for image in images { scanner.release(disk: image) }
            done.signal()
        }
        guard stopping.isSet else {
            done.wait()
            return
        }
        // Stopping: whatever still runs on the work queue does not hold the daemon up
        // past the grace time. Mounts go lazily; loop devices detach with them (autoclear).
        if !done.wait(seconds: Self.stopGrace) {
            log(.warning, "stopping: work still running after \(Int(Self.stopGrace)) s; releasing the mounts from under it")
            mounts.unmountAll()
        }
    }

    // MARK: logging

    public enum Level: String { case debug, info, notice, warning, error }

    /// Every message is logged (standard error, the `log` request, `status` events) with
    /// the passwords of the URLs in it hidden.
    func log(_ level: Level, _ text: String) {
        let message = URLText.redactingCredentials(text)
        let line = "\(level.rawValue): \(message)"
        logLines.append(line)
        if logLines.count > 1000 { logLines.removeFirst(logLines.count - 1000) }
        let order: [Level] = [.debug, .info, .notice, .warning, .error]
        let threshold = Level(rawValue: switches.debug ? "debug" : config.logLevel) ?? .info
        if order.firstIndex(of: level)! >= order.firstIndex(of: threshold)! {
            fputs("kexboot-daemon: \(line)\n", stderr)
        }
        if level != .debug {
            broadcast("status", .object([("level", .string(level == .notice ? "info" : level.rawValue)), ("message", .string(message))]))
        }
    }

    /// What a real boot prints on the console, kept the same in a dry run.
    func announce(_ text: String) {
        fputs(URLText.redactingCredentials(text) + "\n", stdout)
        fflush(stdout)
    }

    // MARK: connections

    func addListener(_ fd: Int32, _ transport: Connection.Transport) {
        listeners[fd] = transport
        loop.register(fd, events: Int16(POLLIN)) { [self] _ in accept(on: fd, transport) }
    }

    /// At most this many clients at once. The last `reservedConnections` of them are kept
    /// for root on the Unix socket and for clients that have authenticated: everyone else
    /// (other Unix users, TCP clients before the token) shares the rest, so they cannot lock
    /// root or an operator out by holding connections open.
    static let maxConnections = 256
    static let reservedConnections = 16
    /// At most this many connections from one peer (a uid on the Unix socket, an address on
    /// TCP), whatever their access; root is not limited.
    static let maxConnectionsPerPeer = 32
    /// At most this many TCP clients that have not authenticated yet; when they are all in
    /// use, a new TCP client displaces the oldest of them, so strangers that keep
    /// connecting cannot keep a client with the token out…
    static let maxUnauthenticated = 16
    /// …and each gets this long to authenticate. Once it has, an idle connection (a menu,
    /// `ctl events`) stays open.
    static let authenticationDeadline = 5.0

    /// Whether a new connection may be let in, making room by closing the oldest
    /// unauthenticated TCP client when that is what stands in the way. Returns why not.
    func admit(_ transport: Connection.Transport, root: Bool, key: String) -> String? {
        if root { return connections.count < Server.maxConnections ? nil : "too many connections" }
        if connections.values.count(where: { $0.throttleKey == key }) >= Server.maxConnectionsPerPeer {
            return "too many connections from \(key) (at most \(Server.maxConnectionsPerPeer))"
        }
        let shared = Server.maxConnections - Server.reservedConnections
        let unprivileged = connections.values.count(where: { $0.access != .full })
        let strangers = connections.values.filter { $0.access == .none }
        if transport == .tcp, strangers.count >= Server.maxUnauthenticated || unprivileged >= shared,
           let oldest = strangers.min(by: { $0.id < $1.id }) {
            drop(oldest, "displaced by a newer client before it authenticated")
            return nil
        }
        // Clients with full access do not count against the shared part: that is how
        // authenticated clients use the reserve.
        if unprivileged >= shared || connections.count >= Server.maxConnections { return "too many connections" }
        return nil
    }

    /// Tells a connection that is not let in why (one error line, in place of `hello`)
    /// and closes it. The line is short enough for any socket buffer, so it is not queued.
    func refuse(_ fd: Int32, _ transport: Connection.Transport, key: String, _ why: String) {
        let line = ProtocolV1.error(id: .null, .tooManyConnections, "\(why); try again later").serialized(compact: true) + "\n"
        _ = line.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress!, $0.count - 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        Glibc.close(fd)
        log(.warning, "refused a \(transport.rawValue) client (\(key)): \(why)")
    }

    func accept(on listener: Int32, _ transport: Connection.Transport) {
        for _ in 0..<64 {
            let fd = kx_accept(listener)
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE {
                    // The listener stays readable while the table is full: stop polling it
                    // for a moment instead of spinning (and let the other clients be served).
                    log(.warning, "out of file descriptors; not accepting for 100 ms")
                    loop.unregister(listener)
                    loop.schedule(after: 0.1) { [self] in
                        if listeners[listener] != nil {
                            loop.register(listener, events: Int16(POLLIN)) { [self] _ in accept(on: listener, transport) }
                        }
                    }
                }
                return
            }
            var access: Connection.Access
            var peer: PeerCredentials?
            let key: String
            switch transport {
            case .unix:
                peer = try? PeerCredentials(socket: fd)
                access = peer?.uid == 0 ? .full : .restricted
                key = "uid \(peer.map { String($0.uid) } ?? "?")"
            case .tcp:
                access = .none
                key = "host \(Socket.peerHost(fd) ?? "?")"
            }
            if let why = admit(transport, root: access == .full, key: key) {
                refuse(fd, transport, key: key, why)
                continue
            }
            nextConnection += 1
            let connection = Connection(id: nextConnection, fd: fd, transport: transport, peer: peer, access: access, throttleKey: key)
            connections[fd] = connection
            watch(connection)
            log(.debug, "\(connection.name) connected with \(access.rawValue) access")
            send(connection, ProtocolV1.hello(server: settings.version, capabilities: ProtocolV1.requests,
                                              access: access.rawValue, authRequired: access != .full))
            if access == .none {
                loop.schedule(after: Server.authenticationDeadline) { [self] in expireUnlessAuthenticated(connection) }
            }
        }
    }

    /// Closes a TCP client whose time to authenticate is up, unless it has. A guess that is
    /// still being held (wrong guesses are answered a second or more later) gets its answer
    /// first, so the client learns it was wrong; five of those end the connection anyway.
    func expireUnlessAuthenticated(_ c: Connection) {
        guard !c.closed, c.access == .none else { return }
        if c.paused {
            loop.schedule(after: 0.25) { [self] in expireUnlessAuthenticated(c) }
            return
        }
        drop(c, "did not authenticate in time")
    }

    func service(_ c: Connection, _ revents: Int16) {
        if revents & Int16(POLLOUT) != 0 {
            guard c.flush() else { return drop(c, "write failed") }
        }
        if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, !c.readClosed, !c.paused {
            if !c.readAvailable() { c.readClosed = true }
        }
        process(c)
    }

    /// Handles the lines waiting on a connection (unless it is paused), then decides
    /// what to wait for next.
    func process(_ c: Connection) {
        while !c.closed, !c.paused, !c.pendingLines.isEmpty {
            c.inFlight += 1
            handle(c.pendingLines.removeFirst(), from: c)
        }
        guard !c.closed else { return }
        if c.oversized, c.pendingLines.isEmpty, !c.paused {
            c.oversized = false
            c.inFlight += 1
            send(c, ProtocolV1.error(id: .null, .tooLarge, "a line is limited to \(ProtocolV1.maxLine) bytes; closing"))
            c.closeAfterFlush = true
        }
        guard !c.closed else { return }
        // Half-closed: answer what was asked, then close.
        if c.readClosed, c.inFlight == 0, c.pendingLines.isEmpty { c.closeAfterFlush = true }
        if c.closeAfterFlush, !c.wantsWrite { return drop(c, nil) }
        watch(c)
    }

    /// Registers for what the connection waits on. A connection that reads nothing now
    /// (paused, or half-closed) is left out of poll entirely unless it has output, so a
    /// hung-up peer cannot make poll spin.
    func watch(_ c: Connection) {
        var events: Int16 = 0
        if !c.readClosed && !c.paused { events |= Int16(POLLIN) }
        if c.wantsWrite { events |= Int16(POLLOUT) }
        guard events != c.watched else { return }
        if events == 0 {
            loop.unregister(c.fd)
        } else if c.watched == 0 {
            loop.register(c.fd, events: events) { [self] revents in service(c, revents) }
        } else {
            loop.update(c.fd, events: events)
        }
        c.watched = events
    }

    func drop(_ c: Connection, _ why: String?) {
        guard !c.closed else { return }
        if let why { log(.info, "\(c.name): \(why); disconnected") }
        loop.unregister(c.fd)
        connections[c.fd] = nil
        c.close()
    }

    func send(_ c: Connection, _ message: JSONValue) {
        send(c, line: message.serialized(compact: true), isResponse: message["type"] == .string("response"))
    }

    /// A response whose result is already serialized (the `list` result is cached).
    func send(_ c: Connection, id: JSONValue, rawResult: String) {
        send(c, line: #"{"type":"response","id":"# + id.serialized(compact: true) + #","ok":true,"result":"# + rawResult + "}",
             isResponse: true)
    }

    /// Every line a client gets passes here: the passwords of URLs in it (a device's
    /// `disk` and `config`, an option's files and arguments, a fetch's error, a progress
    /// event, a setting such as `http-proxy`) are hidden whatever the client's access.
    /// Booting still uses the real URLs, which never leave the daemon.
    func send(_ c: Connection, line: String, isResponse: Bool) {
        guard !c.closed else { return }
        if isResponse { c.inFlight -= 1 }
        guard c.send(line: URLText.redactingCredentials(line)) else {
            return drop(c, c.queued > c.maxQueued ? "too slow (more than \(c.maxQueued) bytes unread)" : "write failed")
        }
        if c.readClosed, c.inFlight == 0, c.pendingLines.isEmpty { c.closeAfterFlush = true }
        if c.closeAfterFlush, !c.wantsWrite { return drop(c, nil) }
        watch(c)
    }

    func broadcast(_ event: String, _ data: JSONValue) {
        let line = ProtocolV1.event(event, data).serialized(compact: true)
        for c in connections.values where c.subscribed && c.access != .none {
            send(c, line: line, isResponse: false)
        }
    }

    func broadcast(_ events: [(String, JSONValue)]) {
        for (name, data) in events { broadcast(name, data) }
    }
}

/// A one-shot wait for another thread.
final class Semaphore: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var done = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    func signal() {
        pthread_mutex_lock(&mutex)
        done = true
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func wait() {
        pthread_mutex_lock(&mutex)
        while !done { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    /// False when `seconds` passed first.
    func wait(seconds: Double) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanoseconds = Int(deadline.tv_nsec) + Int(seconds.truncatingRemainder(dividingBy: 1) * 1e9)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_mutex_lock(&mutex)
        while !done && pthread_cond_timedwait(&condition, &mutex, &deadline) != ETIMEDOUT {}
        let finished = done
        pthread_mutex_unlock(&mutex)
        return finished
    }
}

/// A flag any thread may set once and every thread may read.
public final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func set() { value.store(true, ordering: .releasing) }
    public var isSet: Bool { value.load(ordering: .acquiring) }
}

extension String {
    /// `127.0.0.1:0` → `127.0.0.1:41234` once the kernel has chosen the port.
    func replacingPortZero(with port: UInt16?) -> String {
        guard let port, hasSuffix(":0") else { return self }
        return String(dropLast()) + String(port)
    }
}
