/// One bootable entry, whatever config language it came from.
public struct BootOption: Hashable, Sendable {
    public enum Kind: String, Sendable {
        /// A Linux kernel with initrds and a command line.
        case linux
        /// A multiboot kernel (Xen, tboot) with modules.
        case multiboot
        /// An ELF payload booted through the Open Firmware shim.
        case elf
    }

    /// Unique within one config's output.
    public var id: String
    public var title: String
    /// Titles from the outermost submenu down to this entry; the last element is `title`.
    public var path: [String]
    public var kind: Kind
    public var kernel: Resource?
    public var initrds: [Resource]
    public var devicetree: Resource?
    public var modules: [BootModule]
    /// The kernel command line exactly as the loaded kernel sees it.
    public var args: String
    /// SHA-256 digests (lower-case hex) the files must have, by path (native configs).
    public var checksums: [String: String] = [:]
    /// GRUB `loopback NAME FILE` devices the entry's files are on: `grub:NAME` resources
    /// are read from inside that image file (an ISO on a USB stick's filesystem).
    public var loopbacks: [String: Resource] = [:]

    public init(
        id: String, title: String, path: [String]? = nil, kind: Kind = .linux,
        kernel: Resource? = nil, initrds: [Resource] = [], devicetree: Resource? = nil,
        modules: [BootModule] = [], args: String = ""
    ) {
        self.id = id
        self.title = title
        self.path = path ?? [title]
        self.kind = kind
        self.kernel = kernel
        self.initrds = initrds
        self.devicetree = devicetree
        self.modules = modules
        self.args = args
    }
}
