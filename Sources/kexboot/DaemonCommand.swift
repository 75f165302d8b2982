import KexbootArguments
import KexbootCore
import KexbootOS
import KexbootServer

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the boot daemon: discovery, boot options, autoboot and the socket protocol.",
        discussion: "Protocol v1 is documented in docs/protocol.md; `kexboot ctl` is its command-line client."
    )

    @Option(help: "The Unix socket to serve.")
    var socket = "/run/kexboot.sock"

    @Flag(help: "Announce boots and their plans, but never kexec.")
    var dryRun = false

    @Option(name: .customLong("image"), help: "Attach a disk image read-only as if it were a disk (repeatable). Without --scan-disks, only images are used.")
    var images: [String] = []

    @Flag(help: "Probe the machine's disks even when images are given.")
    var scanDisks = false

    @Option(help: "The daemon's settings (default: /etc/kexboot/kexboot.conf when it exists).")
    var config: String?

    @Flag(help: "Never autoboot.")
    var noAutoboot = false

    @Option(help: "Also serve TCP on HOST:PORT (clients must authenticate with the config's token).")
    var listen: String?

    @Option(help: "Where to read the kexboot.* switches from.")
    var cmdline = "/proc/cmdline"

    @Option(help: "Where the daemon keeps mounts and fetched files.")
    var runDir = "/run/kexboot"

    @Flag(inversion: .prefixedNo, help: "Bring interfaces up and ask DHCP for boot configs (default: on unless images are given).")
    var network: Bool?

    @Option(name: .customLong("interface"), help: "Use only this network interface (repeatable).")
    var interfaces: [String] = []

    @Option(help: "Where DNS servers from DHCP are written.")
    var resolvConf = "/etc/resolv.conf"

    @Option(help: "The DHCP client command (busybox udhcpc's options are used).")
    var dhcpClient = "udhcpc"

    @Option(help: "The DHCPv6 client command (default: kexboot's own 'kexboot dhcp6'; empty: no DHCPv6).")
    var dhcp6Client: String?

    @Option(help: "Where the kernel lists IPv6 addresses (absent: the kernel has no IPv6, and no DHCPv6 runs).")
    var procInet6 = "/proc/net/if_inet6"

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // Termination signals wait for a thread of their own, so the daemon can release
        // its mounts and loop devices before it goes. Blocked before any thread starts.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)

        var settings = Server.Settings()
        settings.socket = socket
        settings.dryRun = dryRun
        settings.images = images.map { $0.hasPrefix("/") ? $0 : currentDirectory() + "/" + $0 }
        settings.scanDisks = images.isEmpty || scanDisks
        settings.configPath = config ?? (access("/etc/kexboot/kexboot.conf", R_OK) == 0 ? "/etc/kexboot/kexboot.conf" : nil)
        settings.noAutoboot = noAutoboot
        settings.listen = listen
        settings.cmdline = cmdline
        settings.runDirectory = runDir
        settings.version = KexbootVersion.string
        settings.network = network ?? images.isEmpty
        settings.interfaces = interfaces
        settings.resolvConf = resolvConf
        settings.dhcpClient = dhcpClient.split(separator: " ").map(String.init)
        settings.procInet6 = procInet6
        settings.dhcp6Client = dhcp6Client.map { $0.split(separator: " ").map(String.init) }
        if let bytes = try? DirectoryFileSource(root: "/").read("/sys/class/dmi/id/product_uuid", limit: 256) {
            settings.uuid = String(decoding: bytes, as: UTF8.self).trimmingBlanks()
        }
        let server: Server
        do {
            server = try Server(settings: settings)
            try server.start()
        } catch {
            writeError("kexboot daemon: \(error)")
            throw ExitCode(1)
        }
        SignalWaiter.start(set) { server.stop() }
        server.run()
    }
}

/// A thread that waits for blocked signals with sigwait and acts on the first.
enum SignalWaiter {
    final class Box: @unchecked Sendable {
        let set: sigset_t
        let action: () -> Void
        init(set: sigset_t, action: @escaping () -> Void) {
            self.set = set
            self.action = action
        }
    }

    static func start(_ set: sigset_t, _ action: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(set: set, action: action))
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            var set = box.set
            var signal: Int32 = 0
            sigwait(&set, &signal)
            box.action()
            return nil
        }, box.toOpaque())
        pthread_detach(thread)
    }
}
