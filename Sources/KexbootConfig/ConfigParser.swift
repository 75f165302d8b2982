import KexbootCore

/// `kexboot parse`'s engine: finds the config on a filesystem (or takes the one named),
/// picks the format and runs its parser.
public struct ConfigParser: Sendable {
    public var identity: DeviceIdentity
    public var env: [(String, String)]
    public var platform: Platform
    /// Where the relative names of a network config resolve, when the caller knows better
    /// than the config's location (DHCP option 210, pxelinux.pathprefix): a directory of the
    /// filesystem or a URL (`http://server/boot/`). Used for `.pxelinux` (instead of the
    /// parent of `pxelinux.cfg/`) and `.ipxe` (instead of the script's directory).
    public var prefix: String?

    public init(identity: DeviceIdentity = DeviceIdentity(), env: [(String, String)] = [], platform: Platform = .current,
                prefix: String? = nil) {
        self.identity = identity
        self.env = env
        self.platform = platform
        self.prefix = prefix
    }

    /// Throws `KexbootError` `.notFound` when there is no config (or the named one is
    /// missing), `.ioError` when it cannot be read. Problems inside a config are diagnostics,
    /// never errors.
    /// The running device tree's `compatible`, for FDTDIR (`--env` overrides it).
    var deviceTreeEnv: [(String, String)] {
        platform.compatible.isEmpty ? [] : [("fdt_compatible", platform.compatible.joined(separator: " "))]
    }

    public func parse(files: any FileSource, config: String? = nil, format: ConfigFormat? = nil) throws -> ParseResult {
        let path: String
        let chosen: ConfigFormat
        if let config {
            path = Path.normalize(config)
            guard let info = files.info(path) else {
                throw KexbootError(.notFound, "\(path): no such file")
            }
            if let format {
                chosen = format
            } else if info.kind == .directory {
                chosen = .bls
            } else {
                let head = (try? files.read(path, limit: 64 << 20).prefix(4096)).map(Array.init) ?? []
                chosen = ConfigLocator.detect(path: path, head: head)
            }
        } else {
            guard let found = ConfigLocator.find(in: files, format: format) else {
                throw KexbootError(.notFound, format.map { "no \($0.rawValue) config found" } ?? "no boot config found")
            }
            path = found.path
            chosen = found.format
        }
        switch chosen {
        case .grub:
            return try GrubConfig.parse(path: path, files: files, identity: identity, env: env, platform: platform)
        case .bls:
            if files.info(path)?.kind == .directory {
                return BLSConfig.parse(directory: path, files: files, identity: identity, env: env, platform: platform)
            }
            return BLSConfig.parse(directory: Path.directory(path), single: path, files: files, identity: identity, env: env, platform: platform)
        case .syslinux:
            return try SyslinuxConfig.parse(path: path, files: files, env: deviceTreeEnv + env)
        case .pxelinux:
            // Relative names resolve against the TFTP prefix: the one given, else the parent
            // of pxelinux.cfg/.
            let directory = Path.directory(path)
            let parent = Path.basename(directory).lowercased() == "pxelinux.cfg" ? Path.directory(directory) : directory
            return try SyslinuxConfig.parse(path: path, files: files, env: deviceTreeEnv + env, format: .pxelinux,
                                            workingDirectory: prefix ?? parent)
        case .ipxe:
            return try IPXEConfig.parse(path: path, files: files, env: env, platform: platform, prefix: prefix)
        case .yaboot:
            return try YabootConfig.parse(path: path, files: files)
        case .kboot:
            return try KbootConfig.parse(path: path, files: files)
        case .native:
            return try NativeConfig.parse(path: path, files: files)
        }
    }
}
