import KexbootArguments
import KexbootCore
import KexbootDevices
import KexbootOS

#if canImport(Glibc)
import Glibc
#endif

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Load a kernel with kexec and start it (or, with --dry-run, print the plan).",
        discussion: """
            With --elf, an Open Firmware client (GRUB's core.elf, a PReP payload) is started \
            through the shim instead: kexboot builds the handoff bundle (the client, its \
            arguments, copies of --disk's partitions), edits the device tree and loads shim, \
            bundle and tree with kexec_load (docs/ofshim.md). That runs only on ppc64; the \
            plan prints anywhere.
            """
    )

    @Option(help: "The kernel image.")
    var kernel: String?

    @Option(help: "An initrd; repeat for several (they are concatenated in order).")
    var initrd: [String] = []

    @Option(help: "A device tree blob.")
    var dtb: String?

    @Option(help: "The kernel command line (or the Open Firmware client's arguments).")
    var args: String = ""

    @Option(help: "An Open Firmware client ELF to start through the shim.")
    var elf: String?

    @Option(help: "With --elf: the boot disk whose partitions the client reads.")
    var disk: String?

    @Option(help: "With --disk: the partitions to carry, comma-separated (default: all).")
    var partitions: String?

    @Option(help: "With --disk: its Open Firmware path (default: the disk's devspec in sysfs).")
    var bootpath: String?

    @Option(help: "With --elf: the device tree to start from.")
    var fdt = "/sys/firmware/fdt"

    @Option(help: "With --elf: where ofshim.elf and kexec-entry.bin are.")
    var shimDir = "/lib/kexboot"

    @Option(help: "With --elf: also write the bundle to this file.")
    var saveBundle: String?

    @Option(help: "With --elf: also write each segment to DIR/NAME.bin (shim, bundle, device-tree, kexec-entry).")
    var saveSegments: String?

    @Option(help: "auto: kexec_file_load, else kexboot's own kexec_load boot (x86_64 bzImage); file or load: only that one.")
    var syscall: Kexec.Syscall = .auto

    @Flag(help: "Print the plan and touch nothing.")
    var dryRun = false

    @Flag(help: "Print the plan as JSON.")
    var json = false

    func validate() throws {
        guard (kernel == nil) != (elf == nil) else { throw ValidationError("give --kernel or --elf (one of them)") }
        if elf != nil, !initrd.isEmpty || dtb != nil { throw ValidationError("--initrd and --dtb go with --kernel, not --elf") }
        if elf == nil, disk != nil || partitions != nil || bootpath != nil || saveBundle != nil || saveSegments != nil {
            throw ValidationError("--disk, --partitions, --bootpath, --save-bundle and --save-segments go with --elf")
        }
        if let partitions, partitions.split(separator: ",").contains(where: { UInt32($0) == nil }) {
            throw ValidationError("--partitions takes numbers separated by commas, not '\(partitions)'")
        }
    }

    func run() throws {
        if let elf { return try bootClient(elf) }
        let plan: BootPlan
        do {
            plan = try Kexec.plan(kernel: kernel!, initrds: initrd, devicetree: dtb, commandLine: args, syscall: syscall)
        } catch {
            writeError("kexboot boot: \(error)")
            throw ExitCode(1)
        }
        show(plan)
        if dryRun { return }
        do {
            let loaded = try Kexec.load(plan)
            if loaded.method != plan.method { print("kexboot: kexec_file_load refused the kernel; loaded with kexec_load") }
            print("kexboot: booting \"\(kernel!)\"")
            try Kexec.execute()
        } catch {
            writeError("kexboot boot: \(error)")
            throw ExitCode(1)
        }
    }

    func show(_ plan: BootPlan) {
        if json {
            print(plan.json.serialized())
        } else if dryRun {
            print("method   \(plan.method.rawValue)\(plan.flags.isEmpty ? "" : " (\(plan.flags.joined(separator: ", ")))")")
            print("kernel   \(plan.kernel.path) (\(plan.kernel.size) bytes\(plan.kernelImage.map { ", " + $0.description } ?? ""))")
            for i in plan.initrds { print("initrd   \(i.path) (\(i.size) bytes)") }
            if let d = plan.devicetree { print("dtb      \(d.path) (\(d.size) bytes)") }
            print("cmdline  \(plan.commandLine) (\(plan.commandLineLength) bytes with the NUL)")
            if let x86 = plan.x86 {
                func line(_ what: String, _ s: BootPlan.Segment) {
                    print("segment  \(what): \(s.bufsz) bytes at 0x\(String(s.mem, radix: 16)) (\(s.memsz) bytes of memory)")
                }
                line("kernel", x86.kernel)
                if let i = x86.initrd { line("initrd", i) }
                line("boot_params, entry, command line", x86.parameters)
                print("entry    0x\(String(x86.entry, radix: 16)) (kernel's 64-bit entry 0x\(String(x86.kernel.mem + 0x200, radix: 16)))")
            }
        }
    }

    /// An Open Firmware client through the shim.
    func bootClient(_ path: String) throws {
        let load: OFShimPlan
        let clientBytes: [UInt8]
        do {
            clientBytes = try ReadOnlyFile.contents(of: path, what: "client")
            let bundle: [UInt8]
            if let disk {
                let file = try ReadOnlyFile(path: disk)
                let chosen = partitions.map { Set($0.split(separator: ",").compactMap { UInt32($0) }) }
                bundle = try OFBundle.fromDisk(file, client: clientBytes, args: args, bootpath: try bootpath ?? OFBundle.devspec(disk), chosen: chosen)
            } else {
                bundle = OFBundle.build(client: clientBytes, args: args, bootpath: bootpath)
            }
            if let saveBundle { try writeAll(saveBundle, bundle) }
            let tree = try DeviceTree(parsing: try ReadOnlyFile.contents(of: fdt, what: "device tree"))
            load = try OFShimPlan.make(shim: try ReadOnlyFile.contents(of: shimDir + "/ofshim.elf", what: "shim"),
                                       kexecEntry: try ReadOnlyFile.contents(of: shimDir + "/kexec-entry.bin", what: "shim entry"),
                                       client: clientBytes, bundle: bundle, tree: tree)
        } catch {
            writeError("kexboot boot: \(error)")
            throw ExitCode(1)
        }
        if let saveSegments {
            do {
                for s in load.segments { try writeAll(saveSegments + "/" + String(s.what.map { $0 == " " ? "-" : $0 }) + ".bin", s.bytes) }
            } catch {
                writeError("kexboot boot: \(error)")
                throw ExitCode(1)
            }
        }
        let plan = load.bootPlan(client: path, clientSize: UInt64(clientBytes.count), args: args)
        if json {
            guard case .object(var members) = plan.json else { return }
            members.append(("parts", .array(load.segments.map { .object([("what", .string($0.what)), ("mem", .uint($0.mem))]) })))
            print(JSONValue.object(members).serialized())
        } else {
            print("method   kexec_load through the Open Firmware shim")
            print("client   \(path) (\(clientBytes.count) bytes)")
            for s in load.segments {
                print("segment  \(s.what): \(s.bytes.count) bytes at 0x\(String(s.mem, radix: 16)) (\(s.memsz) bytes of memory)")
            }
            print("entry    0x\(String(load.entry, radix: 16))")
            print("args     \(args)")
        }
        if dryRun { return }
        #if arch(powerpc64) || arch(powerpc64le)
        do {
            try Kexec.load(segments: load.segments.map { ($0.bytes, $0.mem, $0.memsz) }, entry: load.entry)
            print("kexboot: booting \"\(path)\"")
            try Kexec.execute()
        } catch {
            writeError("kexboot boot: \(error)")
            throw ExitCode(1)
        }
        #else
        writeError("kexboot boot: the Open Firmware shim starts clients only on ppc64 (--dry-run prints the plan anywhere)")
        throw ExitCode(1)
        #endif
    }

    func writeAll(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KexbootError(.ioError, "creating \(path)", cause: Errno(errno)) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw KexbootError(.ioError, "writing \(path)", cause: Errno(errno)) }
            done += n
        }
    }
}

extension Kexec.Syscall: ExpressibleByArgument {}
