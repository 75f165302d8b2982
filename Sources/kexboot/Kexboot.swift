import KexbootArguments
import Logging

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

@main
struct Kexboot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kexboot",
        abstract: "A boot manager for the initramfs: finds boot configs and boots them with kexec.",
        version: KexbootVersion.string,
        subcommands: [ParseCommand.self, ProbeCommand.self, ELFCommand.self, DevicesCommand.self, BootCommand.self, ConsoleCommand.self, DaemonCommand.self, CtlCommand.self, MenuCommand.self, FetchCommand.self, DHCPHookCommand.self, DHCP6Command.self]
    )

    /// Subcommands reachable through a link named `kexboot-NAME` (multicall, as busybox).
    static let multicallNames: [String: String] = ["kexboot-parse": "parse", "kexboot-probe": "probe", "kexboot-elf": "elf", "kexboot-ctl": "ctl"]

    static func main() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = getenv("KEXBOOT_DEBUG") != nil ? .debug : .notice
            return handler
        }
        var arguments = Array(CommandLine.arguments.dropFirst())
        let invokedAs = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "kexboot"
        if let subcommand = multicallNames[invokedAs] {
            arguments.insert(subcommand, at: 0)
        }
        arguments = CtlCommand.hoistingConnectionOptions(arguments)
        switch parse(arguments) {
        case .exit(let status, let out, let err):
            fputs(out, stdout)
            fputs(err, stderr)
            Glibc.exit(status)
        case .run(var command):
            do {
                try command.run()
            } catch let exit as ExitCode {
                Glibc.exit(exit.rawValue)
            } catch CleanExit.message(let text) {
                fputs(text, stdout)
            } catch let error as ValidationError {
                writeError("Error: \(error.message)")
                Glibc.exit(2)
            } catch {
                writeError("kexboot: \(error)")
                Glibc.exit(1)
            }
        }
    }
}

enum KexbootVersion {
    static let string = "0.1.0"
}

/// One line (or more) on standard error.
func writeError(_ message: String) {
    fputs(message.hasSuffix("\n") ? message : message + "\n", stderr)
}

/// Standard output as a `TextOutputStream` (for output written in chunks).
struct StandardOutput: TextOutputStream {
    mutating func write(_ string: String) {
        fputs(string, stdout)
    }
}
