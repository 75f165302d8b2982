import KexbootArguments
import KexbootCore
import KexbootDevices
import KexbootOS

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Find the partitions, filesystems, PReP payloads and boot configs of disks or images.",
        discussion: "Image files are attached read-only through loop devices; filesystems are mounted read-only and unmounted again. Nothing is written."
    )

    @Argument(help: "Block devices or disk/filesystem image files.")
    var paths: [String]

    @Flag(help: "Print the JSON object of probe-json.md.")
    var json = false

    @Option(help: "Where to mount filesystems while reading them (default: /run/kexboot/probe-PID).")
    var mountDir: String?

    func run() throws {
        // Signals wait until every mount and loop device is released, then act.
        var block = sigset_t(), previous = sigset_t()
        sigemptyset(&block)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&block, s) }
        pthread_sigmask(SIG_BLOCK, &block, &previous)
        let (devices, diagnostics, failed) = probeAll()
        var pending = sigset_t()
        sigpending(&pending)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] where sigismember(&pending, s) == 1 {
            // Now that nothing is left attached or mounted, let it end us (even if the
            // mask we inherited blocked it).
            signal(s, SIG_DFL)
            var one = sigset_t()
            sigemptyset(&one)
            sigaddset(&one, s)
            pthread_sigmask(SIG_UNBLOCK, &one, nil)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        if json {
            let object = JSONValue.object([
                ("devices", .array(devices.map(\.json))),
                ("diagnostics", .array(diagnostics.map(\.json))),
            ])
            var out = StandardOutput()
            object.write(to: &out)
            out.write("\n")
        } else {
            print(DeviceTable(devices).render(), terminator: "")
            for d in diagnostics { writeError("\(d.source): \(d.severity.rawValue): \(d.message)") }
        }
        if failed { throw ExitCode(1) }
    }

    /// Everything kexboot attached or mounted is released before this returns.
    private func probeAll() -> ([ProbedDevice], [ProbeDiagnostic], Bool) {
        let base = mountDir ?? (access("/run", W_OK) == 0 ? "/run/kexboot/probe-\(getpid())" : "/tmp/kexboot-probe-\(getpid())")
        let mounts: MountSet
        do {
            mounts = try MountSet(base: base)
        } catch {
            return ([], [ProbeDiagnostic(source: base, severity: .error, message: "\(error)")], true)
        }
        let prober = DiskProber(mounts: mounts)
        var devices: [ProbedDevice] = []
        var extra: [ProbeDiagnostic] = []
        var failed = false
        for path in paths {
            do {
                devices.append(try prober.probe(path))
            } catch {
                failed = true
                extra.append(ProbeDiagnostic(source: path, severity: .error, message: "\(error)"))
            }
        }
        return (devices, prober.diagnostics + extra, failed)
    }
}

/// The human-readable form of a probe.
struct DeviceTable {
    let devices: [ProbedDevice]

    init(_ devices: [ProbedDevice]) {
        self.devices = devices
    }

    func render() -> String {
        var out = ""
        for d in devices {
            out += "\(d.source): \(d.pttype ?? d.fstype ?? "unknown"), \(d.size) bytes\(d.label.map { ", label \($0)" } ?? "")\(d.uuid.map { ", uuid \($0)" } ?? "")\n"
            if let config = d.config { out += "  config \(config.config): \(config.entries.count) entries\n" }
            for p in d.partitions {
                var line = "  \(p.number)  start \(p.start)  size \(p.size)  type \(p.type)"
                if let l = p.partlabel { line += "  \"\(l)\"" }
                if p.bootable { line += "  active" }
                if p.prep { line += "  PReP" }
                if let f = p.fstype { line += "  \(f)" }
                if let l = p.label { line += " label \(l)" }
                out += line + "\n"
                if let e = p.payload {
                    out += "     payload: ELF\(e.elfClass) \(e.machineName ?? String(e.machine)) entry 0x\(String(e.entry, radix: 16))\n"
                }
                if let c = p.config {
                    out += "     config \(c.format.rawValue) \(c.config): \(c.entries.map(\.title).joined(separator: ", "))\n"
                }
            }
        }
        return out
    }
}
