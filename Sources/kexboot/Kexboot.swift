import ArgumentParser
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
        subcommands: [ParseCommand.self, ProbeCommand.self, ELFCommand.self, DevicesCommand.self, BootCommand.self, ConsoleCommand.self, DaemonCommand.self, CtlCommand.self, MenuCommand.self, FetchCommand.self, DHCPHookCommand.self]
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
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            if let exitCode = error as? ExitCode {
                Glibc.exit(exitCode.rawValue)
            }
            writeError(fullMessage(for: error))
            // Usage mistakes exit 2 (the specs' "bad arguments"), not sysexits' 64.
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
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
