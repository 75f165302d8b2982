import KexbootArguments
import KexbootCore
import KexbootOS

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The DHCP client's script: udhcpc runs it with the event as its argument and the lease in
/// its environment; it hands both to the daemon that started the client, and does nothing
/// else (the daemon configures the interface over rtnetlink).
///
/// `kexboot dhcp6` runs it too, with the same events and these variables: `interface`,
/// `family` (`inet6`: how the daemon tells the two apart), `ipv6` (the address),
/// `ipv6prefix` (128), `lease` and `preferred` (the valid and preferred lifetimes, in
/// seconds), `serverid` (the server's DUID in hex), `dns` (option 23, space-separated),
/// `domain` (option 24, space-separated), `bootfile_url` (option 59) and `bootfile_param`
/// (option 60's strings as a JSON array, so one may hold blanks). Every lower-case variable is forwarded, so
/// nothing here needs to know them.
struct DHCPHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dhcp-hook",
        abstract: "(internal) Pass a udhcpc event to the daemon.",
        shouldDisplay: false
    )

    @Argument(help: "deconfig, bound, renew, leasefail or nak.")
    var event: String

    func run() throws {
        guard let socket = getenv("KEXBOOT_DHCP_SOCKET").map({ String(cString: $0) }) else {
            writeError("kexboot dhcp-hook: KEXBOOT_DHCP_SOCKET is not set (only the daemon's DHCP client runs this)")
            throw ExitCode(2)
        }
        var members: [(String, JSONValue)] = [("event", .string(event))]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            p += 1
            guard let eq = text.firstIndex(of: "=") else { continue }
            let key = String(text[..<eq])
            // udhcpc's variables are lower case (ip, router, opt93…); the rest is ours.
            guard let first = key.first, first.isLowercase, key.count <= 32 else { continue }
            members.append((key, .string(String(text[text.index(after: eq)...].prefix(4096)))))
        }
        do {
            try Datagram.send(Array(JSONValue.object(members).serialized(compact: true).utf8), to: socket)
        } catch {
            writeError("kexboot dhcp-hook: \(error)")
            throw ExitCode(1)
        }
    }
}
