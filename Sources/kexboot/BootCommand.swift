import KexbootArguments
import KexbootCore
import KexbootOS

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Load a kernel with kexec and start it (or, with --dry-run, print the plan)."
    )

    @Option(help: "The kernel image.")
    var kernel: String

    @Option(help: "An initrd; repeat for several (they are concatenated in order).")
    var initrd: [String] = []

    @Option(help: "A device tree blob.")
    var dtb: String?

    @Option(help: "The kernel command line.")
    var args: String = ""

    @Flag(help: "Print the plan and touch nothing.")
    var dryRun = false

    @Flag(help: "Print the plan as JSON.")
    var json = false

    func run() throws {
        let plan: BootPlan
        do {
            plan = try Kexec.plan(kernel: kernel, initrds: initrd, devicetree: dtb, commandLine: args)
        } catch {
            writeError("kexboot boot: \(error)")
            throw ExitCode(1)
        }
        if json {
            print(plan.json.serialized())
        } else if dryRun {
            print("method   \(plan.method.rawValue)\(plan.flags.isEmpty ? "" : " (\(plan.flags.joined(separator: ", ")))")")
            print("kernel   \(plan.kernel.path) (\(plan.kernel.size) bytes\(plan.kernelImage.map { ", " + $0.description } ?? ""))")
            for i in plan.initrds { print("initrd   \(i.path) (\(i.size) bytes)") }
            if let d = plan.devicetree { print("dtb      \(d.path) (\(d.size) bytes)") }
            print("cmdline  \(plan.commandLine) (\(plan.commandLineLength) bytes with the NUL)")
        }
        if dryRun { return }
        do {
            try Kexec.load(plan)
            print("kexboot: booting \"\(kernel)\"")
            try Kexec.execute()
        } catch {
            writeError("kexboot boot: \(error)")
            throw ExitCode(1)
        }
    }
}
