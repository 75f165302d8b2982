/// URLs as text, the way boot configs use them: absolute (`scheme://authority/path`) or
/// relative to another URL. Shared by the config parsers (which resolve names) and the
/// fetcher (which fetches them).
public enum URLText {
    /// The lower-cased scheme of `name` when it is an absolute URL (`scheme://…`).
    public static func scheme(of name: String) -> String? {
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

    /// `scheme://authority` of an absolute URL.
    public static func origin(of url: String) -> String {
        guard let marker = url.firstRange(of: "://") else { return url }
        let rest = url[marker.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return String(url[..<end])
    }

    /// A relative reference resolved against an absolute URL the way a browser would (for
    /// the shapes configs use): `/x` from the server root, `x/y` and `../x` from the base's
    /// directory, `//host/x` on the same scheme; a query or fragment is kept as written.
    public static func resolve(_ reference: String, against base: String) -> String {
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

}
