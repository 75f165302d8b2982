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
        if Self.scheme(of: prefix) != nil {
            self = .url(prefix.hasSuffix("/") ? prefix : prefix + "/")
        } else {
            self = .directory(Path.normalize(prefix))
        }
    }

    /// The lower-cased scheme of `name` when it is an absolute URL (`scheme://…`).
    static func scheme(of name: String) -> String? {
        guard let colon = name.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let scheme = name.utf8[..<colon]
        guard let first = scheme.first, (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z"),
              scheme.allSatisfy({ c in
                  let l = c | 0x20
                  return (l >= UInt8(ascii: "a") && l <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                      || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
              }),
              name.utf8[colon...].starts(with: "://".utf8)
        else { return nil }
        return String(decoding: scheme, as: UTF8.self).lowercased()
    }

    /// `name` as a resource: an absolute URL as it is, anything else resolved against this
    /// base (a `/`-rooted name against the filesystem root or the URL's server root).
    func resource(_ name: String) -> Resource {
        if Self.scheme(of: name) != nil { return .url(name) }
        switch self {
        case .directory(let directory): return .file(device: nil, path: Path.join(directory, name))
        case .url(let base): return .url(Self.resolve(name, against: base))
        }
    }

    /// The base for names relative to `relative` (a subdirectory, `..`, or an absolute path).
    func appending(_ relative: String) -> ResourceBase {
        if Self.scheme(of: relative) != nil { return ResourceBase(prefix: relative) }
        switch self {
        case .directory(let directory): return .directory(Path.join(directory, relative))
        case .url(let base):
            let joined = Self.resolve(relative, against: base)
            return .url(joined.hasSuffix("/") ? joined : joined + "/")
        }
    }

    /// The server root of a URL base (`tftp://host/`), or the filesystem root.
    var root: ResourceBase {
        switch self {
        case .directory: return .directory("/")
        case .url(let base): return .url(Self.origin(of: base) + "/")
        }
    }

    /// `scheme://authority` of an absolute URL.
    static func origin(of url: String) -> String {
        guard let marker = url.firstRange(of: "://") else { return url }
        let rest = url[marker.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return String(url[..<end])
    }

    /// A relative reference resolved against an absolute URL the way a browser would (for
    /// the shapes configs use): `/x` from the server root, `x/y` and `../x` from the base's
    /// directory, `//host/x` on the same scheme; a query or fragment is kept as written.
    static func resolve(_ reference: String, against base: String) -> String {
        if scheme(of: reference) != nil { return reference }
        let origin = origin(of: base)
        if reference.hasPrefix("//") {
            return (scheme(of: base) ?? "http") + ":" + reference
        }
        var basePath = String(base.dropFirst(origin.count))
        if let cut = basePath.firstIndex(where: { $0 == "?" || $0 == "#" }) { basePath = String(basePath[..<cut]) }
        let split = reference.firstIndex { $0 == "?" || $0 == "#" } ?? reference.endIndex
        let referencePath = String(reference[..<split])
        let suffix = String(reference[split...])
        let directory: String
        if referencePath.hasPrefix("/") {
            directory = ""
        } else if let slash = basePath.lastIndex(of: "/") {
            directory = String(basePath[...slash])
        } else {
            directory = "/"
        }
        var path = Path.normalize(directory + referencePath)
        if (referencePath.hasSuffix("/") || referencePath.isEmpty) && path != "/" { path += "/" }
        return origin + path + suffix
    }

    /// The last path component of a file name or URL, without query or fragment (how iPXE
    /// names an image it downloads).
    static func basename(_ name: String) -> String {
        var path = Substring(name)
        if scheme(of: name) != nil {
            path = path.dropFirst(origin(of: name).count)
        }
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }
        return path.split(separator: "/").last.map(String.init) ?? ""
    }
}
