import KexbootArguments
import KexbootClient
import KexbootCore
import KexbootOS

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Exit codes of `kexboot ctl` (docs/protocol.md lists them too).
enum CtlExit {
    static let failed: Int32 = 1
    static let unreachable: Int32 = 3
    static let unauthorized: Int32 = 4
    static let notFound: Int32 = 5
    static let timeout: Int32 = 6
}

struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Talk to the kexboot daemon: list and boot options, follow events, change settings.",
        discussion: """
            Exit codes: 0 done; 1 the daemon refused or the request failed; 2 bad arguments; \
            3 the daemon cannot be reached; 4 not authorised; 5 no such option, device or setting; 6 timed out.
            """,
        subcommands: [Ctl.List.self, Ctl.Boot.self, Ctl.Cancel.self, Ctl.Status.self, Ctl.Events.self, Ctl.Rescan.self,
                      Ctl.AddURL.self, Ctl.Attach.self, Ctl.Detach.self, Ctl.Config.self, Ctl.Log.self]
    )
}

extension CtlCommand {
    /// `kexboot ctl --socket S list` reads as well as `kexboot ctl list --socket S`: the
    /// connection options given before the subcommand are moved after it (options may
    /// come anywhere among a subcommand's arguments).
    static func hoistingConnectionOptions(_ arguments: [String]) -> [String] {
        guard arguments.first == "ctl" else { return arguments }
        let withValue: Set<String> = ["--socket", "--connect", "--token", "--password"]
        var leading: [String] = []
        var i = 1
        while i < arguments.count {
            let a = arguments[i]
            if withValue.contains(a), i + 1 < arguments.count {
                leading += [a, arguments[i + 1]]
                i += 2
            } else if a == "--json" || withValue.contains(where: { a.hasPrefix($0 + "=") }) {
                leading.append(a)
                i += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, i < arguments.count else { return arguments }
        return ["ctl"] + arguments[i...] + leading
    }
}

struct CtlConnection: ParsableArguments {
    @Option(help: "The daemon's Unix socket.")
    var socket = "/run/kexboot.sock"

    @Option(help: "Connect over TCP to HOST:PORT instead (needs --token).")
    var connect: String?

    @Option(help: "The token for a TCP connection (or KEXBOOT_TOKEN).")
    var token: String?

    @Option(help: "Authenticate with this password first (or KEXBOOT_PASSWORD).")
    var password: String?

    @Flag(help: "Print the daemon's JSON answer.")
    var json = false

    func open() throws -> Client {
        let address: Socket.Address
        if let connect {
            guard let a = Socket.Address.parseTCP(connect) else { throw ValidationError("--connect: HOST:PORT expected") }
            address = a
        } else {
            address = .unix(socket)
        }
        let client: Client
        do {
            client = try Client(address)
        } catch {
            writeError("kexboot ctl: \(error)")
            throw ExitCode(CtlExit.unreachable)
        }
        if connect != nil {
            guard let token = token ?? getenv("KEXBOOT_TOKEN").map({ String(cString: $0) }) else {
                writeError("kexboot ctl: a TCP connection needs --token (or KEXBOOT_TOKEN)")
                throw ExitCode(CtlExit.unauthorized)
            }
            try call(client, "authenticate", [("token", .string(token))])
        } else if client.hello["access"] != .string("full"),
                  let password = password ?? getenv("KEXBOOT_PASSWORD").map({ String(cString: $0) }) {
            // Root already has full access; a password is only for everyone else.
            try call(client, "authenticate", [("password", .string(password))])
        }
        return client
    }

    /// Sends a request; a refusal becomes a message and the exit code for its kind.
    @discardableResult
    func call(_ client: Client, _ name: String, _ params: [(String, JSONValue)] = [], timeout: Double = 300) throws -> JSONValue {
        do {
            return try client.call(name, params, timeout: timeout)
        } catch let failure as Client.Failure {
            writeError("kexboot ctl: \(name): \(failure.message)")
            switch failure.code {
            case "unauthorized": throw ExitCode(CtlExit.unauthorized)
            case "not-found": throw ExitCode(CtlExit.notFound)
            case "connection": throw ExitCode(CtlExit.unreachable)
            case "timeout": throw ExitCode(CtlExit.timeout)
            default: throw ExitCode(CtlExit.failed)
            }
        }
    }

    func printJSON(_ value: JSONValue) {
        var out = StandardOutput()
        value.write(to: &out)
        out.write("\n")
    }
}

enum Ctl {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The devices and their boot options.")
        @OptionGroup var connection: CtlConnection

        func run() throws {
            let client = try connection.open()
            let result = try connection.call(client, "list")
            if connection.json { return connection.printJSON(result) }
            let defaultID = result["default"]?.stringValue
            let options = result["options"]?.arrayValue ?? []
            for device in result["devices"]?.arrayValue ?? [] {
                let id = device["id"]?.stringValue ?? "?"
                var line = "\(id)  \(device["type"]?.stringValue ?? "")  \(device["fstype"]?.stringValue ?? "-")"
                if let label = device["label"]?.stringValue { line += "  label \(label)" }
                if let uuid = device["uuid"]?.stringValue { line += "  uuid \(uuid)" }
                if let config = device["config"]?.stringValue { line += "  \(device["format"]?.stringValue ?? "") \(config)" }
                print(line)
                for o in options where o["device"]?.stringValue == id {
                    let oid = o["id"]?.stringValue ?? "?"
                    let title = (o["path"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " > ")
                    print("  \(oid == defaultID ? "*" : " ") \(oid)  \(title)")
                }
            }
            if let state = result["autoboot"]?["state"]?.stringValue, state == "counting",
               let seconds = result["autoboot"]?["seconds"]?.intValue {
                print("autoboot: \(result["autoboot"]?["option"]?.stringValue ?? "?") in \(seconds) s")
            }
        }
    }

    struct Boot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Boot an option (by id), the default (no arguments), or a kernel given explicitly.",
            discussion: "Files are `(uuid:…)/path`, `(label:…)/path`, a path on --device, or a path on the daemon's filesystem.")
        @OptionGroup var connection: CtlConnection
        @Argument(help: "The option's id, as `ctl list` shows it.") var option: String?
        @Option(help: "A kernel to boot instead of an option.") var kernel: String?
        @Option(name: .customLong("initrd"), help: "An initrd (repeatable).") var initrds: [String] = []
        @Option(help: "A device tree blob.") var dtb: String?
        @Option(help: "The kernel command line.") var args: String?
        @Option(help: "The device (as `ctl list` names it) plain paths are on.") var device: String?

        func validate() throws {
            if option != nil && kernel != nil { throw ValidationError("give an option or --kernel, not both") }
            if kernel == nil && (!initrds.isEmpty || dtb != nil || args != nil || device != nil) {
                throw ValidationError("--initrd, --dtb, --args and --device go with --kernel")
            }
        }

        func run() throws {
            let client = try connection.open()
            var params: [(String, JSONValue)] = []
            if let option { params.append(("option", .string(option))) }
            if let kernel {
                params.append(("kernel", .string(kernel)))
                params.append(("initrds", .array(initrds.map(JSONValue.string))))
                if let dtb { params.append(("dtb", .string(dtb))) }
                if let args { params.append(("args", .string(args))) }
                if let device { params.append(("device", .string(device))) }
            }
            let result = try connection.call(client, "boot", params)
            if connection.json { return connection.printJSON(result) }
            let dryRun = result["dry_run"] == .bool(true)
            print("\(dryRun ? "would boot" : "booting") \"\(result["title"]?.stringValue ?? "?")\"")
            if let plan = result["plan"] {
                print("  kernel  \(plan["kernel"]?["path"]?.stringValue ?? "?")")
                for i in plan["initrds"]?.arrayValue ?? [] { print("  initrd  \(i["path"]?.stringValue ?? "?")") }
                print("  args    \(plan["cmdline"]?.stringValue ?? plan["command_line"]?.stringValue ?? "")")
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the autoboot countdown.")
        @OptionGroup var connection: CtlConnection

        func run() throws {
            let client = try connection.open()
            let result = try connection.call(client, "cancel-autoboot")
            if connection.json { return connection.printJSON(result) }
            print(result["cancelled"] == .bool(true) ? "autoboot cancelled" : "no autoboot was pending")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The daemon's state: devices, options, autoboot.")
        @OptionGroup var connection: CtlConnection

        func run() throws {
            let client = try connection.open()
            let result = try connection.call(client, "status")
            if connection.json { return connection.printJSON(result) }
            for (key, value) in result.objectMembers ?? [] {
                let text: String
                if case .object = value {
                    text = (value.objectMembers ?? []).filter { $0.1 != .null }.map { "\($0.0)=\($0.1.stringValue ?? $0.1.serialized(compact: true))" }.joined(separator: " ")
                } else {
                    text = value.stringValue ?? value.serialized(compact: true)
                }
                print("\(key): \(text)")
            }
        }
    }

    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow the daemon's events (one per line).")
        @OptionGroup var connection: CtlConnection
        @Option(help: "Stop after this many events.") var count: Int?
        @Option(help: "Stop after this many seconds.") var timeout: Double?
        @Option(help: "Stop after the first event of this name.") var until: String?

        func run() throws {
            let client = try connection.open()
            try connection.call(client, "subscribe")
            setvbuf(stdout, nil, _IOLBF, 0)
            var seen = 0
            let deadline = timeout.map { monotonicSeconds() + $0 }
            while count.map({ seen < $0 }) ?? true {
                let left = deadline.map { $0 - monotonicSeconds() } ?? -1
                if deadline != nil && left <= 0 { throw ExitCode(CtlExit.timeout) }
                let event: JSONValue?
                do {
                    event = try client.nextEvent(timeout: left)
                } catch {
                    writeError("kexboot ctl: \(error)")
                    throw ExitCode(CtlExit.unreachable)
                }
                guard let event else { throw ExitCode(CtlExit.timeout) }
                seen += 1
                let name = event["event"]?.stringValue ?? "?"
                if connection.json {
                    print(event.serialized(compact: true))
                } else {
                    print("\(name) \((event["data"] ?? .null).serialized(compact: true))")
                }
                if name == until { return }
            }
        }
    }

    struct Rescan: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Probe every disk and image again.")
        @OptionGroup var connection: CtlConnection

        func run() throws {
            let client = try connection.open()
            let result = try connection.call(client, "rescan")
            if connection.json { return connection.printJSON(result) }
            print("\(result["devices"]?.intValue ?? 0) devices")
        }
    }

    struct AddURL: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-url", abstract: "Fetch a boot config from a URL and add its options.")
        @OptionGroup var connection: CtlConnection
        @Argument() var url: String

        func run() throws {
            let client = try connection.open()
            let result = try connection.call(client, "add-url", [("url", .string(url))])
            if connection.json { return connection.printJSON(result) }
            print("\(result["device"]?.stringValue ?? "?"): \(result["options"]?.intValue ?? 0) options from \(URLText.redactingCredentials(url))")
        }
    }

    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Attach a disk image read-only, as a disk.")
        @OptionGroup var connection: CtlConnection
        @Argument() var image: String

        func run() throws {
            let client = try connection.open()
            let path = image.hasPrefix("/") ? image : currentDirectory() + "/" + image
            let result = try connection.call(client, "attach-image", [("path", .string(path))])
            if connection.json { return connection.printJSON(result) }
            print("\(path): \(result["devices"]?.intValue ?? 0) devices")
        }
    }

    struct Detach: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Detach an image attached with `attach` or --image.")
        @OptionGroup var connection: CtlConnection
        @Argument() var image: String

        func run() throws {
            let client = try connection.open()
            let path = image.hasPrefix("/") ? image : currentDirectory() + "/" + image
            let result = try connection.call(client, "detach-image", [("path", .string(path))])
            if connection.json { connection.printJSON(result) }
        }
    }

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read or change the daemon's settings.", subcommands: [Get.self, Set.self])

        struct Get: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "One setting, or all of them.")
            @OptionGroup var connection: CtlConnection
            @Argument() var key: String?

            func run() throws {
                let client = try connection.open()
                let result = try connection.call(client, "config-get", key.map { [("key", .string($0))] } ?? [])
                if connection.json { return connection.printJSON(result) }
                for (k, v) in result.objectMembers ?? [] {
                    print("\(k) = \(v == .null ? "" : v.stringValue ?? v.serialized(compact: true))")
                }
            }
        }

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Change a setting (saved to the daemon's config file when it has one).")
            @OptionGroup var connection: CtlConnection
            @Argument() var key: String
            @Argument() var value: String

            func run() throws {
                let client = try connection.open()
                let result = try connection.call(client, "config-set", [("key", .string(key)), ("value", .string(value))])
                if connection.json { return connection.printJSON(result) }
                let shown = result[key].map { $0.stringValue ?? $0.serialized(compact: true) } ?? value
                print("\(key) = \(shown)\(result["persisted"] == .bool(true) ? "" : " (not saved: \(result["note"]?.stringValue ?? "?"))")")
            }
        }
    }

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The daemon's recent log.")
        @OptionGroup var connection: CtlConnection
        @Option(help: "How many lines.") var lines = 100

        func run() throws {
            let client = try connection.open()
            let result = try connection.call(client, "log", [("lines", .int(lines))])
            if connection.json { return connection.printJSON(result) }
            for line in result["lines"]?.arrayValue ?? [] { print(line.stringValue ?? "") }
        }
    }
}

func currentDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
    return getcwd(&buffer, buffer.count) != nil ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/"
}
