import KexbootArguments
import KexbootCore
import KexbootDevices

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the block and network devices the kernel knows (from sysfs, and udevd's database when udevd runs)."
    )

    @Flag(help: "One JSON object per device.")
    var json = false

    func run() throws {
        let monitor: UdevMonitor
        do {
            monitor = try UdevMonitor()
        } catch {
            writeError("kexboot devices: \(error)")
            throw ExitCode(1)
        }
        for d in monitor.enumerate() {
            if json {
                print(d.json.serialized(compact: true))
                continue
            }
            var line = "\(d.subsystem.rawValue) \(d.name)"
            if let node = d.node { line += " \(node)" }
            if let t = d.devtype { line += " \(t)" }
            if let p = d.parent { line += " of \(p)" }
            if let s = d.size { line += " \(s) bytes" }
            if d.removable { line += " removable" }
            if let a = d.address { line += " \(a)" }
            print(line)
        }
    }
}
