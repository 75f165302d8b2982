import KexbootArguments
import KexbootConfig
import KexbootCore
import KexbootOS

struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Read the boot config of a filesystem and print its menu.",
        discussion: "ROOT is a directory standing for the root of one filesystem. Nothing outside it is read."
    )

    @Argument(help: "The directory standing for the filesystem's root.")
    var root: String

    @Option(help: "The config file, relative to ROOT (default: search the standard locations).")
    var config: String?

    @Option(help: "grub, bls, syslinux, pxelinux, yaboot, kboot, ipxe or native (default: from the file).")
    var format: String?

    @Option(help: "The filesystem UUID of ROOT, so that GRUB's search resolves to it.")
    var uuid: String?

    @Option(help: "The filesystem label of ROOT.")
    var label: String?

    @Option(help: "The GPT partition name of ROOT.")
    var partlabel: String?

    @Option(name: .customLong("env"), help: ArgumentHelp("Preset a variable before the config runs.", valueName: "KEY=VALUE"))
    var env: [String] = []

    @Flag(help: "Print the JSON object of parse-json.md.")
    var json = false

    func validate() throws {
        if let format, ConfigFormat(rawValue: format) == nil {
            throw ValidationError("unknown format '\(format)' (one of: \(ConfigFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        for pair in env where !pair.contains("=") || pair.hasPrefix("=") {
            throw ValidationError("--env takes KEY=VALUE, not '\(pair)'")
        }
    }

    func run() throws {
        let files = DirectoryFileSource(root: root)
        guard files.info("/")?.kind == .directory else {
            writeError("kexboot parse: \(root): not a directory")
            throw ExitCode(1)
        }
        let environment = env.map { pair -> (String, String) in
            let eq = pair.firstIndex(of: "=")!
            return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
        }
        let parser = ConfigParser(
            identity: DeviceIdentity(uuid: uuid, label: label, partlabel: partlabel), env: environment)
        let result: ParseResult
        do {
            result = try parser.parse(files: files, config: config, format: format.flatMap(ConfigFormat.init(rawValue:)))
        } catch {
            writeError("kexboot parse: \(error)")
            throw ExitCode(1)
        }
        if json {
            var out = StandardOutput()
            result.json.write(to: &out)
            out.write("\n")
        } else {
            print(MenuTable(result).render(), terminator: "")
            for diagnostic in result.diagnostics { writeError(diagnostic.description) }
        }
    }
}
