import KexbootOS

/// The `kexboot.*` switches of the kernel command line (initramfs.md). They override the
/// daemon's config.
public struct KernelSwitches: Sendable {
    public var timeout: Int?
    public var autoboot: Bool?
    public var url: String?
    public var debug = false
    public var shell = false
    /// `kexboot.kexec=auto|file|load`: which system call loads kernels.
    public var kexec: Kexec.Syscall?
    /// Switches kexboot knows whose value it does not (logged by the daemon).
    public var invalid: [String] = []

    public init(path: String) {
        let text = (try? DirectoryFileSource(root: "/").read(path, limit: 1 << 16)) ?? []
        self.init(commandLine: String(decoding: text, as: UTF8.self))
    }

    public init(commandLine: String) {
        for word in commandLine.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            if word.hasPrefix("kexboot.timeout=") { timeout = Int(word.dropFirst("kexboot.timeout=".count)) }
            if word.hasPrefix("kexboot.autoboot=") { autoboot = word.dropFirst("kexboot.autoboot=".count) != "0" }
            if word.hasPrefix("kexboot.url=") { url = String(word.dropFirst("kexboot.url=".count)) }
            if word.hasPrefix("kexboot.kexec=") {
                kexec = Kexec.Syscall(rawValue: String(word.dropFirst("kexboot.kexec=".count)))
                if kexec == nil { invalid.append(String(word)) }
            }
            if word == "kexboot.debug" { debug = true }
            if word == "kexboot.shell" { shell = true }
        }
    }
}
