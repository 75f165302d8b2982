#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore

/// What a boot will do, decided before anything is loaded: `--dry-run` prints it, a real
/// boot carries it out.
public struct BootPlan: Hashable, Sendable {
    public enum Method: String, Sendable {
        /// The kernel checks and places the image (`kexec_file_load`).
        case fileLoad = "kexec_file_load"
        /// kexboot places explicit segments (`kexec_load`): its own x86_64 bzImage boot,
        /// and payloads the kernel does not know (the Open Firmware shim).
        case segments = "kexec_load"
    }

    public struct File: Hashable, Sendable {
        public var path: String
        public var size: UInt64

        public init(path: String, size: UInt64) {
            self.path = path
            self.size = size
        }
    }

    public struct Segment: Hashable, Sendable {
        /// Physical address and size in memory; both page-aligned.
        public var mem: UInt64
        public var memsz: UInt64
        /// Bytes copied to the start of the segment (the rest is zeroed).
        public var bufsz: UInt64

        public init(mem: UInt64, memsz: UInt64, bufsz: UInt64) {
            self.mem = mem
            self.memsz = memsz
            self.bufsz = bufsz
        }
    }

    public var method: Method
    public var kernel: File
    /// Concatenated in this order into one initramfs (cpio archives concatenate).
    public var initrds: [File]
    public var devicetree: File?
    public var commandLine: String
    public var segments: [Segment] = []
    /// What the kernel file is (`bzImage`, `Image`, `gzip (inflated before loading)`, …).
    public var kernelImage: KernelImage?
    public var entry: UInt64?
    /// Whether a `kexec_file_load` plan may fall back to `kexec_load` (KexecFallback).
    public var fallback = false
    /// Where kexboot's own x86_64 boot puts the kernel, initrd and boot_params.
    public var x86: X86BootLayout?
    /// Where kexboot's own ppc64 boot puts the kernel, initrd, device tree and entry.
    public var ppc64: PPC64BootLayout?

    public init(method: Method, kernel: File, initrds: [File], devicetree: File?, commandLine: String) {
        self.method = method
        self.kernel = kernel
        self.initrds = initrds
        self.devicetree = devicetree
        self.commandLine = commandLine
    }

    /// The length passed to the kernel: the command line and its terminating NUL.
    public var commandLineLength: Int { commandLine.utf8.count + 1 }

    public var flags: [String] {
        initrds.isEmpty && method == .fileLoad ? ["KEXEC_FILE_NO_INITRAMFS"] : []
    }

    public var json: JSONValue {
        func file(_ f: File) -> JSONValue { .object([("path", .string(f.path)), ("size", .uint(f.size))]) }
        return .object([
            ("method", .string(method.rawValue)),
            ("kernel", file(kernel)),
            ("kernel_format", kernelImage.map { .string($0.description) } ?? .null),
            ("initrds", .array(initrds.map(file))),
            ("initrd_size", .uint(initrds.reduce(0) { $0 + $1.size })),
            ("devicetree", devicetree.map(file) ?? .null),
            ("cmdline", .string(commandLine)),
            ("cmdline_length", .int(commandLineLength)),
            ("flags", .array(flags.map(JSONValue.string))),
            ("segments", .array(segments.map { .object([("mem", .uint($0.mem)), ("memsz", .uint($0.memsz)), ("bufsz", .uint($0.bufsz))]) })),
            ("entry", entry.map(JSONValue.uint) ?? .null),
        ])
    }

    /// The running kernel's page size, which `kexec_load` wants every segment's address and
    /// size aligned to: 4 KiB on x86_64, 64 KiB on Debian's (and Fedora's, RHEL's) ppc64el
    /// kernels. Never a literal 4096 — a 4 KiB-aligned segment is refused with
    /// EADDRNOTAVAIL on a 64 KiB-page kernel.
    public static let pageSize: UInt64 = {
        let size = sysconf(Int32(_SC_PAGESIZE))
        return size > 0 ? UInt64(size) : 4096
    }()
    public static let maxSegments = 16

    /// The rules `kexec_load` enforces, checked before the call so the error says which
    /// segment is wrong: page-aligned, inside its memory size, non-overlapping, at most 16.
    /// `pageSize`: the running kernel's unless a test checks a layout for another machine.
    public static func validate(_ segments: [Segment], pageSize: UInt64 = BootPlan.pageSize) throws {
        guard !segments.isEmpty, segments.count <= maxSegments else {
            throw KexbootError(.invalidArgument, "kexec_load takes 1 to \(maxSegments) segments, not \(segments.count)")
        }
        for (i, s) in segments.enumerated() {
            guard s.mem % pageSize == 0, s.memsz % pageSize == 0, s.memsz > 0 else {
                throw KexbootError(.invalidArgument, "segment \(i) (0x\(String(s.mem, radix: 16)), \(s.memsz) bytes) is not page-aligned (\(pageSize >> 10) KiB pages)")
            }
            guard s.bufsz <= s.memsz else {
                throw KexbootError(.invalidArgument, "segment \(i) holds \(s.bufsz) bytes in \(s.memsz) bytes of memory")
            }
            let (_, overflow) = s.mem.addingReportingOverflow(s.memsz)
            guard !overflow else { throw KexbootError(.invalidArgument, "segment \(i) wraps around the address space") }
        }
        let sorted = segments.enumerated().sorted { $0.element.mem < $1.element.mem }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.element.mem + a.element.memsz > b.element.mem {
            throw KexbootError(.invalidArgument, "segments \(a.offset) and \(b.offset) overlap")
        }
    }
}

/// When `kexec_file_load` fails, whether to try `kexec_load` instead — as kexec-tools
/// decides: only when the kernel lacks the call or cannot parse the image (ENOSYS, EINVAL,
/// ENOEXEC, EOPNOTSUPP), never when it refused it for a signature or lockdown reason.
public enum KexecFallback {
    public enum Decision: Equatable, Sendable {
        case tryLoad
        /// Report the error as it is.
        case refuse(String)
    }

    public static func decide(errno code: Int32) -> Decision {
        switch code {
        case ENOSYS_: return .tryLoad
        case EINVAL_: return .tryLoad
        case ENOEXEC_: return .tryLoad
        case EOPNOTSUPP_: return .tryLoad
        case EKEYREJECTED_: return .refuse("the kernel's signature was rejected (EKEYREJECTED)")
        case ENOKEY_: return .refuse("the kernel is not signed with a trusted key (ENOKEY)")
        case EBADMSG_: return .refuse("the kernel's signature is malformed (EBADMSG)")
        case EPERM_: return .refuse("kexec is not permitted: not root, or the kernel is locked down (EPERM)")
        default: return .refuse("kexec_file_load failed (errno \(code))")
        }
    }

    // Linux errno values (the same on every architecture kexboot runs on).
    static let EPERM_: Int32 = 1
    static let ENOEXEC_: Int32 = 8
    static let EINVAL_: Int32 = 22
    static let ENOSYS_: Int32 = 38
    static let EOPNOTSUPP_: Int32 = 95
    static let EBADMSG_: Int32 = 74
    static let ENOKEY_: Int32 = 126
    static let EKEYREJECTED_: Int32 = 129
}
