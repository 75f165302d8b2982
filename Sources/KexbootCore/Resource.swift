/// A file a boot option needs: on a filesystem, or on the network.
public enum Resource: Hashable, Sendable {
    /// A file on a filesystem. `device` is `nil` for the filesystem the config was read from;
    /// otherwise `uuid:…`, `label:…`, `partuuid:…`, `partlabel:…` or `grub:NAME`.
    case file(device: String?, path: String)
    /// A network file (`tftp://`, `http://`, `https://`, `ftp://`, `file://`).
    case url(String)

    public var path: String? {
        if case .file(_, let path) = self { return path }
        return nil
    }

    /// How `BootOption.checksums` names this file: its path, or its URL.
    public var checksumKey: String {
        switch self {
        case .file(_, let path): path
        case .url(let url): url
        }
    }

    public var device: String? {
        if case .file(let device, _) = self { return device }
        return nil
    }
}

extension Resource: CustomStringConvertible {
    public var description: String {
        switch self {
        case .file(nil, let path): path
        case .file(let device?, let path): "(\(device))\(path)"
        case .url(let url): url
        }
    }
}

/// A multiboot module: a file plus the command line it is given.
public struct BootModule: Hashable, Sendable {
    public var resource: Resource
    public var args: String

    public init(resource: Resource, args: String) {
        self.resource = resource
        self.args = args
    }
}
