#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CKexboot
import KexbootCore

/// Loads a kernel for kexec and starts it, without kexec-tools.
public enum Kexec {
    /// Makes the plan for a kernel, its initrds and a command line: checks that every file
    /// exists and is a non-empty regular file, and records the sizes.
    public static func plan(kernel: String, initrds: [String], devicetree: String?, commandLine: String) throws -> BootPlan {
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
        return plan
    }

    /// Loads the plan into the kernel (`kexec_file_load`); nothing runs yet.
    public static func load(_ plan: BootPlan) throws {
        guard plan.method == .fileLoad else {
            throw KexbootError(.unsupported, "loading explicit segments needs the Open Firmware shim's payload")
        }
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
            throw KexbootError(.unsupported, "kexec_file_load cannot load \(plan.kernel.path) here, and kexboot has no kexec_load loader for this kernel format", cause: Errno(code))
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
