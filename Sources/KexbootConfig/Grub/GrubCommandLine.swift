/// How GRUB's loaders turn arguments back into one kernel command line: joined by single
/// spaces; an argument holding a space is wrapped in double quotes; `\`, `'` and `"` are
/// escaped with a backslash.
enum GrubCommandLine {
    static func build<C: Collection>(_ args: C) -> String where C.Element == String {
        var out = ""
        for arg in args {
            if !out.isEmpty { out += " " }
            let needsQuotes = arg.utf8.contains(0x20)
            if needsQuotes { out += "\"" }
            if arg.utf8.contains(where: { $0 == 0x5c || $0 == 0x27 || $0 == 0x22 }) {
                for ch in arg.unicodeScalars {
                    if ch == "\\" || ch == "'" || ch == "\"" { out += "\\" }
                    out.unicodeScalars.append(ch)
                }
            } else {
                out += arg
            }
            if needsQuotes { out += "\"" }
        }
        return out
    }
}
