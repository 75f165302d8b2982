/// Pure path arithmetic on `/`-separated absolute paths; touches no filesystem.
public enum Path {
    /// The non-empty components of `path`, with `.` removed and `..` applied (never above
    /// the root).
    public static func components(_ path: String) -> [String] {
        var out: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !out.isEmpty { out.removeLast() }
                continue
            }
            out.append(String(part))
        }
        return out
    }

    /// `path` made absolute and normal: no `//`, no `.` or `..` segments.
    public static func normalize(_ path: String) -> String {
        "/" + components(path).joined(separator: "/")
    }

    /// The directory part of a normalised path (`/` for top-level files).
    public static func directory(_ path: String) -> String {
        var parts = components(path)
        if !parts.isEmpty { parts.removeLast() }
        return "/" + parts.joined(separator: "/")
    }

    /// The last component (`""` for `/`).
    public static func basename(_ path: String) -> String {
        components(path).last ?? ""
    }

    /// `relative` resolved against `directory` unless it is already absolute.
    public static func join(_ directory: String, _ relative: String) -> String {
        if relative.hasPrefix("/") { return normalize(relative) }
        return normalize(directory + "/" + relative)
    }
}
