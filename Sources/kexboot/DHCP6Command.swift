import KexbootArguments
import KexbootCore
import KexbootNet
import KexbootOS

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `kexboot dhcp6 -i IFACE -s SCRIPT`: a DHCPv6 client the daemon runs the way it runs
/// udhcpc (Debian's busybox has no udhcpc6). It runs SCRIPT with the event as its argument
/// (`deconfig`, `bound`, `renew`, `leasefail`, `nak`) and the lease in its environment:
/// `interface`, `family=inet6`, `ipv6`, `ipv6prefix` (128), `lease` and `preferred`
/// (lifetimes in seconds), `serverid` (the server's DUID in hex), `dns`, `domain`
/// (space-separated), `bootfile_url` (option 59) and `bootfile_param` (option 60's
/// strings as a JSON array: `["a=1","b c"]`). It stays in the foreground; SIGTERM releases the lease.
struct DHCP6Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dhcp6",
        abstract: "(internal) A DHCPv6 client for network boot, run by the daemon.",
        shouldDisplay: false
    )

    @Option(name: .shortAndLong, help: "The interface.")
    var interface: String

    @Option(name: .shortAndLong, help: "The script to run on each event.")
    var script: String

    @Option(name: .shortAndLong, help: "Write the client's pid here.")
    var pidfile: String?

    @Flag(name: .shortAndLong, help: "Stay in the foreground (always; for udhcpc's spelling).")
    var foreground = false

    @Flag(name: .shortAndLong, help: "Ask for Rapid Commit.")
    var rapidCommit = false

    @Option(help: "The client architecture to announce (option 61; default: this machine's).")
    var architecture: UInt16?

    @Option(help: "Seconds without an answer before each leasefail event.")
    var leasefailAfter = 20.0

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        var settings = DHCPv6Client.Configuration(interface: interface)
        settings.architecture = architecture ?? PXEArchitecture.code(efi: access("/sys/firmware/efi", F_OK) == 0)
        settings.rapidCommit = rapidCommit
        settings.leasefailAfter = max(1, leasefailAfter)
        // The script sees our environment (KEXBOOT_DHCP_SOCKET, PATH) plus the event's
        // variables, and nothing left from an earlier event.
        var inherited: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            p += 1
            if let eq = text.firstIndex(of: "=") { inherited[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        }
        let script = self.script
        let name = interface
        let client: DHCPv6Client
        do {
            client = try DHCPv6Client(settings, report: { event, variables in
                do {
                    let pid = try Child.spawn([script, event], environment: inherited.merging(variables) { $1 })
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                } catch {
                    writeError("kexboot dhcp6: \(name): running \(script): \(error)")
                }
            }, log: { writeError("kexboot dhcp6: \(name): \($0)") })
        } catch {
            writeError("kexboot dhcp6: \(error)")
            throw ExitCode(1)
        }
        if let pidfile {
            let fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
            if fd >= 0 {
                let text = "\(getpid())\n"
                _ = text.withCString { write(fd, $0, strlen($0)) }
                close(fd)
            }
        }
        defer { if let pidfile { unlink(pidfile) } }
        client.run()
    }
}
