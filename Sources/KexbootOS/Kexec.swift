#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CKexboot
import KexbootCore

/// Loads a kernel for kexec and starts it, without kexec-tools.
public enum Kexec {
    /// Which system call loads a kernel: `auto` tries `kexec_file_load` and falls back to
    /// kexboot's own `kexec_load` boot as kexec-tools does (KexecFallback); `file` and `load`
    /// use only the one named (kexec-tools' `-s` and `-c`).
    public enum Syscall: String, Sendable, CaseIterable {
        case auto, file, load
    }

    /// Makes the plan for a kernel, its initrds and a command line: checks that every file
    /// exists and is a non-empty regular file, and records the sizes. With `syscall: .load`
    /// the segments are placed now (x86_64 bzImage), in `memory` (default: the firmware's map).
    public static func plan(kernel: String, initrds: [String], devicetree: String?, commandLine: String,
                            syscall: Syscall = .auto, memory: [MemoryRange]? = nil) throws -> BootPlan {
        func file(_ path: String, _ what: String) throws -> BootPlan.File {
            var st = stat()
            guard stat(path, &st) == 0 else {
                throw KexbootError(.notFound, "\(what) \(path) is missing", cause: Errno(errno))
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw KexbootError(.invalidArgument, "\(what) \(path) is not a file") }
            guard st.st_size > 0 else { throw KexbootError(.invalidArgument, "\(what) \(path) is empty") }
            return BootPlan.File(path: path, size: UInt64(st.st_size))
        }
        let kernelFile = try file(kernel, "kernel")
        let head = try ReadOnlyFile(path: kernel).read(at: 0, count: 4096)
        let image = KernelImage.identify(head, size: kernelFile.size)
        try image.validate(fileSize: kernelFile.size, path: kernel)
        var plan = BootPlan(method: .fileLoad, kernel: kernelFile,
                            initrds: try initrds.map { try file($0, "initrd") },
                            devicetree: try devicetree.map { try file($0, "device tree") }, commandLine: commandLine)
        plan.kernelImage = image
        plan.fallback = syscall == .auto
        if syscall == .load { try placeSegments(&plan, head: head, memory: memory) }
        return plan
    }

    /// Turns a plan into kexboot's own `kexec_load` boot: an x86_64 bzImage on x86_64, a
    /// ppc64 little-endian vmlinux (PPC64BootLayout) on ppc64le, with the running machine's
    /// device tree (or the plan's own).
    static func placeSegments(_ plan: inout BootPlan, head: [UInt8]? = nil, memory: [MemoryRange]? = nil) throws {
        #if arch(powerpc64le)
        guard plan.kernelImage?.format == .elf else {
            throw KexbootError(.unsupported, "kexboot's kexec_load boot takes a ppc64 vmlinux here; \(plan.kernel.path) is \(plan.kernelImage?.description ?? "unknown")")
        }
        try placePPC64(&plan)
        #elseif arch(x86_64)
        guard plan.kernelImage?.format == .bzImage else {
            throw KexbootError(.unsupported, "kexboot's kexec_load boot takes an x86_64 bzImage or a ppc64 vmlinux; \(plan.kernel.path) is \(plan.kernelImage?.description ?? "unknown")")
        }
        guard plan.devicetree == nil else { throw KexbootError(.unsupported, "an x86 kernel takes no device tree") }
        let head = try head ?? ReadOnlyFile(path: plan.kernel.path).read(at: 0, count: 4096)
        let header = try X86SetupHeader(head, fileSize: plan.kernel.size, path: plan.kernel.path)
        let layout = try X86BootLayout.make(header: header, kernelFileSize: plan.kernel.size,
                                            initrdSize: plan.initrds.reduce(0) { $0 + $1.size },
                                            commandLine: plan.commandLine, memory: try memory ?? FirmwareMemoryMap.read())
        plan.method = .segments
        plan.x86 = layout
        plan.segments = layout.segments
        plan.entry = layout.entry
        #else
        throw KexbootError(.unsupported, "kexboot's own kexec_load boot is written for x86_64 bzImages and ppc64le vmlinux")
        #endif
    }

    /// The running machine's flattened device tree.
    public static let firmwareTree = "/sys/firmware/fdt"

    static func placePPC64(_ plan: inout BootPlan) throws {
        let file = try ReadOnlyFile(path: plan.kernel.path)
        let elf: ELFFile
        do {
            elf = try ELFFile(size: file.size) { try file.read(at: $0, count: $1) }
        } catch let error as ELFFile.Error {
            throw KexbootError(.invalidArgument, "\(plan.kernel.path): \(error.message)")
        }
        guard let first = elf.segments.filter({ $0.type == ELFFile.Segment.load && $0.memsz > 0 }).min(by: { $0.paddr < $1.paddr }) else {
            throw KexbootError(.invalidArgument, "\(plan.kernel.path): the kernel has no loadable segments")
        }
        guard elf.machine == 21 else {
            throw KexbootError(.unsupported, "\(plan.kernel.path): not a 64-bit PowerPC kernel (ELF machine \(elf.machine))")
        }
        let head = try file.read(at: first.offset, count: 0x100)
        let treePath = plan.devicetree?.path ?? firmwareTree
        let tree = try DeviceTree(parsing: try ReadOnlyFile.contents(of: treePath, what: "device tree"))
        do {
            let layout = try PPC64BootLayout.make(elf: elf, kernelHead: head, initrdSize: plan.initrds.reduce(0) { $0 + $1.size },
                                                  commandLine: plan.commandLine, tree: tree,
                                                  runningKernelEnd: try PPC64BootLayout.runningKernelEnd())
            plan.method = .segments
            plan.ppc64 = layout
            plan.segments = layout.segments
            plan.entry = layout.entry
        } catch let error as KexbootError {
            throw KexbootError(error.code, "\(plan.kernel.path): \(error.message)")
        }
    }

    /// Loads the plan into the kernel; nothing runs yet. Returns the plan as loaded: an
    /// `auto` plan that `kexec_file_load` could not take comes back as a `kexec_load` one.
    @discardableResult
    public static func load(_ plan: BootPlan) throws -> BootPlan {
        if plan.method == .segments {
            try loadSegments(plan)
            return plan
        }
        do {
            try fileLoad(plan)
            return plan
        } catch let failure as FileLoadFailure {
            var fallback = plan
            guard plan.fallback else {
                throw KexbootError(.unsupported, "kexec_file_load cannot load \(plan.kernel.path) here", cause: Errno(failure.errno))
            }
            do {
                try placeSegments(&fallback)
                try loadSegments(fallback)
            } catch let error as KexbootError {
                throw KexbootError(error.code, "kexec_file_load cannot load \(plan.kernel.path) here (\(Errno(failure.errno))), and kexec_load failed too: \(error)")
            }
            return fallback
        }
    }

    /// kexec_file_load said ENOSYS, EINVAL or ENOEXEC: kexec_load may do.
    struct FileLoadFailure: Error {
        var errno: Int32
    }

    static func fileLoad(_ plan: BootPlan) throws {
        var kernelFD = try retryingEINTR("opening \(plan.kernel.path)") { open(plan.kernel.path, O_RDONLY | O_CLOEXEC) }
        defer { close(kernelFD) }
        if let image = plan.kernelImage, image.needsInflating {
            let inflated = try inflate(kernelFD, image, path: plan.kernel.path)
            close(kernelFD)
            kernelFD = inflated
        }
        var initrdFD: Int32 = -1
        defer { if initrdFD >= 0 { close(initrdFD) } }
        if plan.initrds.count == 1 {
            initrdFD = try retryingEINTR("opening \(plan.initrds[0].path)") { open(plan.initrds[0].path, O_RDONLY | O_CLOEXEC) }
        } else if plan.initrds.count > 1 {
            initrdFD = try concatenate(plan.initrds.map(\.path))
        }
        let result = plan.commandLine.withCString { cmdline in
            kx_kexec_file_load(kernelFD, initrdFD, UInt(plan.commandLineLength), cmdline, 0)
        }
        guard result != 0 else { return }
        let code = errno
        switch KexecFallback.decide(errno: code) {
        case .refuse(let why):
            throw KexbootError(.ioError, why, cause: Errno(code))
        case .tryLoad:
            throw FileLoadFailure(errno: code)
        }
    }

    /// kexboot's own `kexec_load` boot of an x86_64 bzImage (a plan from placeSegments):
    /// the kernel and initrd are mapped, not read, so a large initrd is not copied twice.
    static func loadSegments(_ plan: BootPlan) throws {
        if let layout = plan.ppc64 { return try loadPPC64(plan, layout) }
        guard let layout = plan.x86 else {
            throw KexbootError(.unsupported, "this plan has no segments kexboot can fill (the Open Firmware shim loads its own)")
        }
        let kernel = try MappedFile(path: plan.kernel.path, size: plan.kernel.size)
        let initrd = try mapInitrds(plan)
        let efi = access("/sys/firmware/efi", F_OK) == 0
        let running = X86BootLayout.runningBootParams()
        let parameters = try layout.parametersBytes(commandLine: plan.commandLine, entryCode: X86BootLayout.entryCode,
                                                    acpiRSDP: X86BootLayout.acpiRSDP(bootParams: running),
                                                    screenInfo: X86BootLayout.screenInfo(bootParams: running, efi: efi))
        try parameters.withUnsafeBytes { params in
            var segments = [kx_segment(buf: kernel.base + Int(layout.header.setupSize), bufsz: layout.kernel.bufsz,
                                       mem: layout.kernel.mem, memsz: layout.kernel.memsz)]
            if let initrd, let place = layout.initrd {
                segments.append(kx_segment(buf: initrd.base, bufsz: place.bufsz, mem: place.mem, memsz: place.memsz))
            }
            segments.append(kx_segment(buf: params.baseAddress, bufsz: UInt64(params.count),
                                       mem: layout.parameters.mem, memsz: layout.parameters.memsz))
            try kexecLoad(segments, entry: layout.entry, what: plan.kernel.path)
        }
        withExtendedLifetime((kernel, initrd)) {}
    }
    /// kexboot's own ppc64 boot (a plan from placeSegments): the kernel is mapped and read
    /// in place when its file holds the PT_LOADs as memory does.
    static func loadPPC64(_ plan: BootPlan, _ layout: PPC64BootLayout) throws {
        let kernel = try MappedFile(path: plan.kernel.path, size: plan.kernel.size)
        var assembled: [UInt8] = []
        let inPlace = layout.kernelInFileOrder && layout.kernelFileOffset <= plan.kernel.size
            && layout.kernel.bufsz <= plan.kernel.size - layout.kernelFileOffset
        if !inPlace {
            assembled = [UInt8](repeating: 0, count: Int(layout.kernel.bufsz))
            for piece in layout.kernelLoads {
                guard piece.fileOffset <= plan.kernel.size, piece.size <= plan.kernel.size - piece.fileOffset,
                      piece.at + piece.size <= layout.kernel.bufsz else {
                    throw KexbootError(.invalidArgument, "\(plan.kernel.path): a PT_LOAD lies outside the file")
                }
                assembled.withUnsafeMutableBytes {
                    ($0.baseAddress! + Int(piece.at)).copyMemory(from: kernel.base + Int(piece.fileOffset), byteCount: Int(piece.size))
                }
            }
        }
        let initrd = try mapInitrds(plan)
        try assembled.withUnsafeBytes { copy in
            try layout.treeBlob.withUnsafeBytes { tree in
                try layout.entryCode.withUnsafeBytes { code in
                    let buffer = inPlace ? kernel.base + Int(layout.kernelFileOffset) : UnsafeRawPointer(copy.baseAddress!)
                    var segments = [kx_segment(buf: buffer, bufsz: layout.kernel.bufsz, mem: layout.kernel.mem, memsz: layout.kernel.memsz)]
                    if let initrd, let place = layout.initrd {
                        segments.append(kx_segment(buf: initrd.base, bufsz: place.bufsz, mem: place.mem, memsz: place.memsz))
                    }
                    segments.append(kx_segment(buf: tree.baseAddress, bufsz: UInt64(tree.count), mem: layout.tree.mem, memsz: layout.tree.memsz))
                    segments.append(kx_segment(buf: code.baseAddress, bufsz: UInt64(code.count), mem: layout.entryPage.mem, memsz: layout.entryPage.memsz))
                    try kexecLoad(segments, entry: layout.entry, what: plan.kernel.path)
                }
            }
        }
        withExtendedLifetime((kernel, initrd)) {}
    }

    /// The plan's initrds mapped as one: the file itself, or several concatenated in memory.
    static func mapInitrds(_ plan: BootPlan) throws -> MappedFile? {
        if plan.initrds.count == 1 { return try MappedFile(path: plan.initrds[0].path, size: plan.initrds[0].size) }
        guard plan.initrds.count > 1 else { return nil }
        let fd = try concatenate(plan.initrds.map(\.path))
        defer { close(fd) }
        return try MappedFile(fd: fd, size: plan.initrds.reduce(0) { $0 + $1.size }, what: "the initrds")
    }

    /// `kexec_load` of described segments, with the reasons a kernel refuses spelled out.
    static func kexecLoad(_ segments: [kx_segment], entry: UInt64, what: String) throws {
        try BootPlan.validate(segments.map { BootPlan.Segment(mem: $0.mem, memsz: $0.memsz, bufsz: $0.bufsz) })
        let result = segments.withUnsafeBufferPointer {
            kx_kexec_load(entry, UInt($0.count), $0.baseAddress, kx_kexec_arch_default)
        }
        guard result == 0 else {
            let code = errno
            let why = switch code {
            case EPERM: "kexec_load is not permitted: not root, kexec_load_disabled, or the kernel is locked down (EPERM)"
            case EACCES: "kexec_load is refused: the kernel wants a signed image (Secure Boot or an IMA policy); only kexec_file_load can load one (EACCES)"
            case ETXTBSY: "kexec_load of \(what): a segment lies below the running kernel's end or over a TCE table (ETXTBSY)"
            default: "kexec_load of \(what)"
            }
            throw KexbootError(.ioError, why, cause: Errno(code))
        }
    }

    /// A compressed kernel inflated into a memory file (positioned at its start).
    static func inflate(_ fd: Int32, _ image: KernelImage, path: String) throws -> Int32 {
        let out = kx_memfd("kexboot-kernel")
        guard out >= 0 else { throw KexbootError(.ioError, "memfd_create", cause: Errno(errno)) }
        let n = kx_inflate(fd, image.payloadOffset, image.payloadSize, out, KernelImage.maxInflatedSize)
        guard n > 0 else {
            let code = errno
            close(out)
            switch n {
            case Int64(KX_INFLATE_TRUNCATED): throw KexbootError(.invalidArgument, "\(path): the compressed kernel ends early")
            case Int64(KX_INFLATE_TOO_LARGE): throw KexbootError(.limitExceeded, "\(path): inflates to more than \(KernelImage.maxInflatedSize >> 20) MiB")
            case Int64(KX_INFLATE_IO): throw KexbootError(.ioError, "\(path): inflating", cause: Errno(code))
            default: throw KexbootError(.invalidArgument, "\(path): the compressed kernel is damaged")
            }
        }
        lseek(out, 0, SEEK_SET)
        return out
    }

    /// Several initrds in one memory file, one after the other (cpio archives concatenate).
    static func concatenate(_ paths: [String]) throws -> Int32 {
        let fd = kx_memfd("kexboot-initrd")
        guard fd >= 0 else { throw KexbootError(.ioError, "memfd_create", cause: Errno(errno)) }
        for path in paths {
            let input = open(path, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else {
                close(fd)
                throw KexbootError(.notFound, "opening \(path)", cause: Errno(errno))
            }
            defer { close(input) }
            do {
                try copyAll(from: input, to: fd, what: path)
            } catch {
                close(fd)
                throw error
            }
        }
        lseek(fd, 0, SEEK_SET)
        return fd
    }

    /// Loads explicit segments with `kexec_load` (the Open Firmware shim's path): each
    /// buffer is copied to the start of its page-aligned memory range, the rest zeroed.
    public static func load(segments: [(bytes: [UInt8], mem: UInt64, memsz: UInt64)], entry: UInt64) throws {
        let described = segments.map { BootPlan.Segment(mem: $0.mem, memsz: $0.memsz, bufsz: UInt64($0.bytes.count)) }
        try BootPlan.validate(described)
        // Stable copies of the buffers for the duration of the call.
        let buffers = segments.map { segment -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(segment.bytes.count, 1), alignment: 16)
            b.copyBytes(from: segment.bytes)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        var native = zip(segments, buffers).map { segment, buffer in
            kx_segment(buf: UnsafeRawPointer(buffer.baseAddress), bufsz: UInt64(segment.bytes.count), mem: segment.mem, memsz: segment.memsz)
        }
        let result = native.withUnsafeMutableBufferPointer {
            kx_kexec_load(entry, UInt($0.count), $0.baseAddress, kx_kexec_arch_default)
        }
        guard result == 0 else {
            throw KexbootError(.ioError, "kexec_load of \(segments.count) segments", cause: Errno(errno))
        }
    }

    public static func unload() {
        _ = kx_kexec_unload()
    }

    /// Starts the loaded kernel. Before it: `sync`. Returns only if the kernel refused.
    public static func execute() throws -> Never {
        sync()
        _ = kx_reboot_kexec()
        throw KexbootError(.ioError, "reboot(LINUX_REBOOT_CMD_KEXEC) failed", cause: Errno(errno))
    }
}

/// A file mapped read-only for the length of a `kexec_load` call.
final class MappedFile {
    let base: UnsafeRawPointer
    let size: Int

    convenience init(path: String, size: UInt64) throws {
        let fd = try retryingEINTR("opening \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        try self.init(fd: fd, size: size, what: path)
    }

    init(fd: Int32, size: UInt64, what: String) throws {
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_size) == size else {
            throw KexbootError(.invalidArgument, "\(what) changed size since the plan was made")
        }
        guard let p = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw KexbootError(.ioError, "mapping \(what)", cause: Errno(errno))
        }
        base = UnsafeRawPointer(p)
        self.size = Int(size)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
}
