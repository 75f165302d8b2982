// kexboot-fuzz: libFuzzer harnesses for every parser of bytes kexboot does not control.
//
// One binary, many harnesses: `KEXBOOT_FUZZ=<name>` picks one (scripts/fuzz.sh sets it).
// Built only by scripts/fuzz.sh, with `-sanitize=fuzzer,address`, into .build-fuzz; the
// ordinary build never sees this target (Package.swift adds it when KEXBOOT_FUZZ_BUILD is
// set). Each harness also checks a property where one exists (a value that serialises must
// parse back to itself), so a wrong answer is a finding too, not only a crash.

#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CFuzz
import KexbootCore
@testable import KexbootConfig
@testable import KexbootDevices
import KexbootNet
import KexbootOS
import KexbootProtocol
import KexbootServer

/// Splits an input at NUL bytes into at most `count` files: the first is the config under
/// test, the others are files it may include, so include fan-out and recursion are
/// reachable (the seeds hold no NUL, so a seed is the main file alone).
func parts(_ bytes: [UInt8], _ count: Int) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var rest = bytes[...]
    while out.count < count - 1, let nul = rest.firstIndex(of: 0) {
        out.append(Array(rest[..<nul]))
        rest = rest[(nul + 1)...]
    }
    out.append(Array(rest))
    return out
}

func files(_ bytes: [UInt8], _ names: [String]) -> MemoryFileSource {
    var map: [String: [UInt8]] = [:]
    for (name, data) in zip(names, parts(bytes, names.count)) { map[name] = data }
    return MemoryFileSource(bytes: map)
}

let platform = Platform(grubCPU: "powerpc", grubPlatform: "ieee1275", compatible: ["qemu,pseries"])

func config(_ bytes: [UInt8], _ format: ConfigFormat, _ names: [String]) {
    let source = files(bytes, names)
    let parser = ConfigParser(identity: DeviceIdentity(uuid: "1234-5678", label: "boot"), env: [("fuzz", "1")], platform: platform)
    guard let result = try? parser.parse(files: source, config: names[0], format: format) else { return }
    // Every entry serialises to the JSON `kexboot parse` prints.
    for entry in result.entries { _ = entry.json.serialized(compact: true) }
    _ = result.diagnostics.map(\.description)
}

/// A throwaway file for parsers that read through a descriptor (ISO 9660, the MBR).
func withFile(_ bytes: [UInt8], _ body: (ReadOnlyFile) throws -> Void) {
    let path = "/dev/shm/kexboot-fuzz-\(getpid())"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { fatalError("cannot create \(path)") }
    defer { unlink(path) }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    guard written == bytes.count, let file = try? ReadOnlyFile(path: path) else { fatalError("cannot write \(path)") }
    try? body(file)
}

func read(_ bytes: [UInt8]) -> (UInt64, Int) throws -> [UInt8] {
    { offset, count in
        guard offset < UInt64(bytes.count) else { return [] }
        let start = Int(offset)
        return Array(bytes[start..<min(bytes.count, start + min(count, bytes.count))])
    }
}

func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError("property does not hold: \(what())") }
}

/// A pseries-like tree for the ppc64 layout when the input's own does not parse.
let pseriesTree: DeviceTree = {
    var root = DeviceTree.Node(name: "")
    root.children.append(DeviceTree.Node(name: "memory@0", properties: [
        .init(name: "device_type", value: DeviceTree.string("memory")),
        .init(name: "reg", value: DeviceTree.u64(0) + DeviceTree.u64(1 << 30)),
    ]))
    root.children.append(DeviceTree.Node(name: "chosen", properties: [.init(name: "bootargs", value: DeviceTree.string("quiet"))]))
    return DeviceTree(root: root, reservations: [(0x0200_0000, 0x0100_0000)])
}()

let x86Memory = [MemoryRange(start: 0, end: 0x9F000, type: 1), MemoryRange(start: 0x10_0000, end: 0x4000_0000, type: 1)]

let harnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "grub": { config($0, .grub, ["/boot/grub/grub.cfg", "/boot/grub/a.cfg", "/boot/grub/b.cfg", "/boot/grub/grubenv"]) },
    "bls": {
        let source = files($0, ["/loader/entries/a.conf", "/loader/entries/b.conf", "/loader/entries/c.conf", "/boot/grub2/grubenv"])
        let result = BLSConfig.parse(directory: "/loader/entries", files: source, identity: DeviceIdentity(uuid: "1234"), platform: platform)
        for entry in result.entries { _ = entry.json.serialized(compact: true) }
    },
    "syslinux": { config($0, .syslinux, ["/syslinux/syslinux.cfg", "/syslinux/a.cfg", "/syslinux/b.cfg"]) },
    "pxelinux": { config($0, .pxelinux, ["/pxelinux.cfg/default", "/pxelinux.cfg/a", "/b.cfg"]) },
    "ipxe": { config($0, .ipxe, ["/boot.ipxe", "/a.ipxe", "/b.ipxe"]) },
    "yaboot": { config($0, .yaboot, ["/etc/yaboot.conf", "/etc/a.conf"]) },
    "kboot": { config($0, .kboot, ["/etc/kboot.conf"]) },
    "native": { config($0, .native, ["/kexboot.conf", "/a.conf"]) },
    "settings": { bytes in
        let settings = DaemonConfig(text: String(decoding: bytes, as: UTF8.self), path: "/etc/kexboot.conf")
        for key in DaemonConfig.keys { _ = settings.value(key) }
        _ = settings.text(setting: "timeout", to: "5")
    },
    "protocol": { bytes in
        // The first byte picks the size of the pieces the stream arrives in.
        let piece = Int(bytes.first ?? 1) % 64 + 1
        var framer = LineFramer(maxLine: 4096)
        var at = 1
        while at < bytes.count {
            for output in framer.feed(bytes[at..<min(bytes.count, at + piece)]) {
                guard case .line(let line) = output else { continue }
                if case .success(let request) = Request.decode(line) { _ = request.string("id") }
                // JSON that parses prints as JSON that parses to the same value.
                if let value = try? JSONValue.parse(line) {
                    let text = value.serialized(compact: true)
                    expect((try? JSONValue.parse(text)) == value, "JSON round trip of \(text)")
                }
            }
            at += piece
        }
    },
    "dhcp4": { bytes in
        // udhcpc hands a lease to its script as environment variables.
        var env: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        let lease = DHCPLease(environment: env)
        _ = lease.variables(mac: "52:54:00:12:34:56")
        _ = PXELookup(lease: lease, mac: "52:54:00:12:34:56", uuid: "00000000-0000-0000-0000-000000000000")
    },
    "dhcp6": { bytes in
        guard let message = DHCPv6Message(bytes: bytes) else { return }
        expect(DHCPv6Message(bytes: message.bytes) == message, "DHCPv6 round trip")
        if let lease = DHCPv6Client.Lease(reply: message, iaid: 1) { _ = lease.variables }
    },
    "uevent": { bytes in
        _ = UdevMonitor.parse(bytes, source: .kernel)
        _ = UdevMonitor.parse(bytes, source: .udev)
    },
    "elf": { bytes in
        let image = KernelImage.identify(Array(bytes.prefix(4096)), size: UInt64(bytes.count))
        try? image.validate(fileSize: UInt64(bytes.count), path: "/vmlinuz")
        if let header = try? X86SetupHeader(Array(bytes.prefix(32 << 10)), fileSize: UInt64(bytes.count), path: "/vmlinuz"),
           let layout = try? X86BootLayout.make(header: header, kernelFileSize: UInt64(bytes.count), initrdSize: 1 << 20,
                                                commandLine: "quiet", memory: x86Memory) {
            _ = try? layout.parametersBytes(commandLine: "quiet", entryCode: [0xC3], acpiRSDP: nil, screenInfo: nil)
        }
        guard let elf = try? ELFFile(bytes: bytes) else { return }
        _ = elf.json.serialized(compact: true)
        let head = elf.segments.first.map { s in Array(bytes.dropFirst(Int(clamping: s.offset)).prefix(0x100)) } ?? []
        _ = try? PPC64BootLayout.make(elf: elf, kernelHead: head, initrdSize: 1 << 20, commandLine: "quiet",
                                      tree: pseriesTree, runningKernelEnd: 0x0300_0000, pageSize: 1 << 16)
    },
    "devicetree": { bytes in
        guard let tree = try? DeviceTree(parsing: bytes) else { return }
        // A tree that parses serialises to one that parses to the same tree.
        let again = try? DeviceTree(parsing: tree.serialized())
        expect(again == tree, "device tree round trip")
        _ = try? tree.firstMemoryRange()
        _ = tree.node("/chosen")
        // The tree as the running machine's, for a fixed little-endian ppc64 kernel.
        let elf = try! ELFFile(bytes: ppc64Kernel)
        _ = try? PPC64BootLayout.make(elf: elf, kernelHead: Array(repeating: 0, count: 0x100), initrdSize: 1 << 20,
                                      commandLine: "quiet", tree: tree, runningKernelEnd: 0x0300_0000, pageSize: 1 << 16)
    },
    "gpt": { bytes in
        _ = GPTCheck.problems(sectors: UInt64(bytes.count / 512), read: read(bytes))
        withFile(bytes) { file in _ = try OFBundle.mbrPartitions(file) }
    },
    "iso9660": { bytes in
        withFile(bytes) { file in
            guard ISO9660.looksLikeImage(file) else { return }
            let iso = try ISO9660(file: file)
            // Walk the tree as the config locator and parsers do: a few levels, a few
            // hundred names (a directory that contains itself is a cycle, not an error).
            var queue = [("/", 0)], seen = 0
            while let (directory, depth) = queue.popLast(), seen < 512 {
                for name in iso.list(directory) ?? [] {
                    seen += 1
                    let path = Path.join(directory, name)
                    if iso.info(path)?.kind == .directory {
                        if depth < 6 { queue.append((path, depth + 1)) }
                    } else {
                        _ = try? iso.read(path, limit: 1 << 20)
                    }
                }
            }
        }
    },
]

/// A minimal little-endian ppc64 ELF with one PT_LOAD, for the device-tree harness.
let ppc64Kernel: [UInt8] = {
    var b = [UInt8](repeating: 0, count: 0x10000 + 0x100)
    func put(_ at: Int, _ value: UInt64, _ size: Int) { for i in 0..<size { b[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) } }
    b[0] = 0x7F; b[1] = 0x45; b[2] = 0x4C; b[3] = 0x46; b[4] = 2; b[5] = 1; b[6] = 1
    put(16, 2, 2); put(18, 21, 2); put(20, 1, 4); put(24, 0xC000_0000_0000_0000, 8); put(32, 64, 8)
    put(52, 64, 2); put(54, 56, 2); put(56, 1, 2)
    put(64, 1, 4); put(68, 7, 4); put(72, 0x10000, 8); put(80, 0xC000_0000_0000_0000, 8); put(88, 0, 8)
    put(96, 0x100, 8); put(104, 0x100, 8); put(112, 0x10000, 8)
    return b
}()

nonisolated(unsafe) var harness: @Sendable ([UInt8]) -> Void = { _ in }

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    harness(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// SwiftPM links an executable with `main` aliased to the module's own entry point, so
/// libFuzzer's `main` is never used: this one picks the harness and hands the command line
/// to libFuzzer's driver.
@_cdecl("kexboot_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = getenv("KEXBOOT_FUZZ").map { String(cString: $0) } ?? ""
    guard let chosen = harnesses[name] else {
        fputs("kexboot-fuzz: set KEXBOOT_FUZZ to one of: \(harnesses.keys.sorted().joined(separator: " "))\n", stderr)
        return 2
    }
    harness = chosen
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in testOneInput(data, size) }
}
