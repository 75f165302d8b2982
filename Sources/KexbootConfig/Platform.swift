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

    public init(grubCPU: String, grubPlatform: String) {
        self.grubCPU = grubCPU
        self.grubPlatform = grubPlatform
    }

    /// The machine kexboot runs on: the CPU it was built for, and `efi` when the kernel
    /// was started by UEFI firmware (`/sys/firmware/efi` exists).
    public static var current: Platform {
        let efi = access("/sys/firmware/efi", F_OK) == 0
        #if arch(x86_64)
        return Platform(grubCPU: "x86_64", grubPlatform: efi ? "efi" : "pc")
        #elseif arch(arm64)
        return Platform(grubCPU: "arm64", grubPlatform: "efi")
        #elseif arch(powerpc64) || arch(powerpc64le)
        return Platform(grubCPU: "powerpc", grubPlatform: "ieee1275")
        #elseif arch(riscv64)
        return Platform(grubCPU: "riscv64", grubPlatform: "efi")
        #else
        return Platform(grubCPU: "i386", grubPlatform: efi ? "efi" : "pc")
        #endif
    }
}
