import KexbootCore

/// Where the relative file names of a network-style config (pxelinux, iPXE) resolve: a
/// directory of the filesystem the config was read from, or a URL directory (a pxelinux
/// path prefix or iPXE script location given as a URL, DHCP option 210 style).
enum ResourceBase: Hashable, Sendable {
    /// An absolute, normalised directory of the filesystem.
    case directory(String)
    /// `scheme://authority/path/`, always ending in `/`.
    case url(String)

    /// The URL schemes a resource may have (parse-json.md); others cannot be fetched.
    static let fetchableSchemes: Set<String> = ["http", "https", "tftp", "ftp", "file"]

    /// A prefix as a caller gives it: a URL (`http://server/boot/`) or a directory of the
    /// filesystem. Either way it names a directory, with or without its trailing `/`.
    init(prefix: String) {
        if URLText.scheme(of: prefix) != nil {
            self = .url(prefix.hasSuffix("/") ? prefix : prefix + "/")
        } else {
            self = .directory(Path.normalize(prefix))
        }
    }

    /// `name` as a resource: an absolute URL as it is, anything else resolved against this
    /// base (a `/`-rooted name against the filesystem root or the URL's server root).
    func resource(_ name: String) -> Resource {
        if URLText.scheme(of: name) != nil { return .url(name) }
        switch self {
        case .directory(let directory): return .file(device: nil, path: Path.join(directory, name))
        case .url(let base): return .url(URLText.resolve(name, against: base))
        }
    }

    /// The base for names relative to `relative` (a subdirectory, `..`, or an absolute path).
    func appending(_ relative: String) -> ResourceBase {
        if URLText.scheme(of: relative) != nil { return ResourceBase(prefix: relative) }
        switch self {
        case .directory(let directory): return .directory(Path.join(directory, relative))
        case .url(let base):
            let joined = URLText.resolve(relative, against: base)
            return .url(joined.hasSuffix("/") ? joined : joined + "/")
        }
    }

    /// The server root of a URL base (`tftp://host/`), or the filesystem root.
    var root: ResourceBase {
        switch self {
        case .directory: return .directory("/")
        case .url(let base): return .url(URLText.origin(of: base) + "/")
        }
    }

    /// The last path component of a file name or URL, without query or fragment (how iPXE
    /// names an image it downloads).
    static func basename(_ name: String) -> String {
        var path = Substring(name)
        if URLText.scheme(of: name) != nil {
            path = path.dropFirst(URLText.origin(of: name).count)
        }
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }
        return path.split(separator: "/").last.map(String.init) ?? ""
    }
}
