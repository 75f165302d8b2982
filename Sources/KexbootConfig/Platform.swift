#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine a config is read for: decides GRUB's `grub_cpu` and `grub_platform`.
public struct Platform: Sendable, Hashable {
    public var grubCPU: String
    public var grubPlatform: String
    /// The running device tree's root `compatible` strings (`vendor,board` first), for
    /// picking a DTB from an extlinux `FDTDIR`; empty on machines without one.
    public var compatible: [String]

    public init(grubCPU: String, grubPlatform: String, compatible: [String] = []) {
        self.grubCPU = grubCPU
        self.grubPlatform = grubPlatform
        self.compatible = compatible
    }

    /// `/proc/device-tree/compatible`: NUL-separated strings.
    static func runningCompatible() -> [String] {
        let fd = open("/proc/device-tree/compatible", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return [] }
        return buffer[..<n].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The machine kexboot runs on: the CPU it was built for, and `efi` when the kernel
    /// was started by UEFI firmware (`/sys/firmware/efi` exists).
    public static var current: Platform {
        let efi = access("/sys/firmware/efi", F_OK) == 0
        #if arch(x86_64)
        return Platform(grubCPU: "x86_64", grubPlatform: efi ? "efi" : "pc")
        #elseif arch(arm64)
        return Platform(grubCPU: "arm64", grubPlatform: "efi", compatible: runningCompatible())
        #elseif arch(powerpc64) || arch(powerpc64le)
        return Platform(grubCPU: "powerpc", grubPlatform: "ieee1275", compatible: runningCompatible())
        #elseif arch(riscv64)
        return Platform(grubCPU: "riscv64", grubPlatform: "efi", compatible: runningCompatible())
        #else
        return Platform(grubCPU: "i386", grubPlatform: efi ? "efi" : "pc")
        #endif
    }
}
