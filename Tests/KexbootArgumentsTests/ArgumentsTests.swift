import Testing
@testable import KexbootArguments

private struct Connection: ParsableArguments {
    @Option(help: "The socket.") var socket = "/run/kexboot.sock"
    @Flag(help: "JSON.") var json = false
}

private struct Boot: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "boot", abstract: "Boot something.")
    @OptionGroup var connection: Connection
    @Argument(help: "The option.") var option: String?
    @Option(help: "The kernel.") var kernel: String
    @Option(name: .customLong("initrd"), help: "An initrd.") var initrds: [String] = ["default.img"]
    @Option(name: .shortAndLong, help: "Where.") var output: String?
    @Option(help: "Retries.") var retries = 2
    @Flag(help: "Dry.") var dryRun = false
    @Flag(inversion: .prefixedNo, help: "Network.") var network: Bool?

    func validate() throws {
        if kernel.isEmpty { throw ValidationError("--kernel may not be empty") }
    }
}

private struct Probe: ParsableCommand {
    @Argument(help: "Paths.") var paths: [String]
}

private struct Root: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tool", version: "1.2.3", subcommands: [Boot.self, Probe.self])
}

private func command<T>(_ words: [String], as: T.Type) -> T? {
    guard case .run(let c) = Root.parse(words) else { return nil }
    return c as? T
}

private func failure(_ words: [String]) -> (Int32, String)? {
    guard case .exit(let status, _, let err) = Root.parse(words) else { return nil }
    return (status, err)
}

@Suite struct ArgumentsTests {
    @Test func valuesFlagsGroupsAndDefaults() throws {
        let boot = try #require(command(["boot", "--socket=/s", "--kernel", "/vmlinuz", "--initrd", "a", "--initrd=b",
                                         "-o", "out", "--dry-run", "opt1", "--retries", "5", "--json"], as: Boot.self))
        #expect(boot.connection.socket == "/s")
        #expect(boot.connection.json)
        #expect(boot.kernel == "/vmlinuz")
        #expect(boot.initrds == ["a", "b"])
        #expect(boot.output == "out")
        #expect(boot.dryRun)
        #expect(boot.option == "opt1")
        #expect(boot.retries == 5)
        #expect(boot.network == nil)

        let plain = try #require(command(["boot", "--kernel", "k", "--no-network"], as: Boot.self))
        #expect(plain.initrds == ["default.img"])
        #expect(plain.option == nil)
        #expect(plain.output == nil)
        #expect(plain.retries == 2)
        #expect(!plain.dryRun)
        #expect(plain.network == false)
        #expect(command(["boot", "--kernel", "k", "--network"], as: Boot.self)?.network == true)
        #expect(command(["boot", "--kernel", "k", "--", "--odd"], as: Boot.self)?.option == "--odd")
    }

    @Test func repeatedPositionals() throws {
        let probe = try #require(command(["probe", "a", "b", "c"], as: Probe.self))
        #expect(probe.paths == ["a", "b", "c"])
        #expect(failure(["probe"])?.0 == 2)
    }

    @Test func usageMistakesExitTwoWithAReason() {
        #expect(failure(["boot"])?.1.contains("missing --kernel <kernel>") == true)
        #expect(failure(["boot", "--kernel"])?.1.contains("--kernel needs a value") == true)
        #expect(failure(["boot", "--kernel", "k", "--retries", "x"])?.1.contains("'x' is not a valid value for --retries") == true)
        #expect(failure(["boot", "--kernel", "k", "--bogus"])?.1.contains("unknown option '--bogus'") == true)
        #expect(failure(["boot", "--kernel", "k", "a", "b"])?.1.contains("unexpected argument 'b'") == true)
        #expect(failure(["boot", "--kernel", ""])?.1.contains("--kernel may not be empty") == true)
        #expect(failure(["boot", "--kernel", "a", "--kernel", "b"])?.1.contains("given twice") == true)
        #expect(failure(["boot", "--kernel", "k", "--dry-run=yes"])?.1.contains("takes no value") == true)
        #expect(failure(["boot", "--kernel", "k", "--no-dry-run"])?.0 == 2)
        #expect(failure(["bogus"])?.1.contains("unknown command 'bogus'") == true)
        #expect(failure(["bogus"])?.1.contains("Usage: tool <command>") == true)
    }

    @Test func helpAndVersion() {
        guard case .exit(0, let help, "") = Root.parse(["boot", "--help"]) else { Issue.record("no help"); return }
        #expect(help.contains("Boot something."))
        #expect(help.contains("--initrd <initrd>"))
        #expect(help.contains("-o, --output <output>"))
        #expect(help.contains("--network, --no-network"))
        #expect(help.contains("(default: 2)"))
        #expect(help.contains("Usage: tool boot"))
        guard case .exit(0, let top, _) = Root.parse(["--help"]) else { Issue.record("no help"); return }
        #expect(top.contains("Commands:") && top.contains("boot") && top.contains("probe"))
        guard case .exit(0, let version, _) = Root.parse(["--version"]) else { Issue.record("no version"); return }
        #expect(version == "1.2.3\n")
    }

    @Test func kebabNames() {
        #expect(ArgumentSlot.kebab("dryRun") == "dry-run")
        #expect(ArgumentSlot.kebab("caFile") == "ca-file")
        #expect(ArgumentSlot.kebab("AddURL") == "add-url")
        #expect(ArgumentSlot.kebab("tftpBlksize") == "tftp-blksize")
    }
}
