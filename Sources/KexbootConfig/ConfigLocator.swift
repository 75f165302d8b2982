import KexbootCore

/// Where each format's configs live on a filesystem, and telling formats apart.
public enum ConfigLocator {
    public struct Found: Hashable, Sendable {
        public var format: ConfigFormat
        /// The config file; for BLS, the entries directory.
        public var path: String
    }

    /// The standard locations, in the order of parse-json.md. `*` matches one directory
    /// (`/EFI/*/grub.cfg`); names match case-insensitively.
    public static let locations: [(ConfigFormat, [String])] = [
        (.grub, ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/grub/grub.cfg", "/grub2/grub.cfg",
                 "/grub.cfg", "/EFI/*/grub.cfg", "/boot/efi/EFI/*/grub.cfg"]),
        (.bls, ["/loader/entries", "/boot/loader/entries"]),
        (.syslinux, ["/boot/extlinux/extlinux.conf", "/extlinux/extlinux.conf", "/boot/syslinux/syslinux.cfg",
                     "/syslinux/syslinux.cfg", "/syslinux.cfg", "/isolinux/isolinux.cfg", "/boot/isolinux/isolinux.cfg"]),
        (.yaboot, ["/etc/yaboot.conf", "/yaboot.conf"]),
        (.kboot, ["/etc/kboot.conf", "/kboot.conf"]),
        (.native, ["/boot/kexboot.conf", "/kexboot.conf"]),
    ]

    /// The first config of the highest-priority format found, optionally of one format only.
    public static func find(in files: any FileSource, format only: ConfigFormat? = nil) -> Found? {
        for (format, paths) in locations where only == nil || only == format {
            for pattern in paths {
                for path in expand(pattern, files: files) {
                    if format == .bls {
                        guard files.info(path)?.kind == .directory,
                              let names = files.list(path), names.contains(where: { $0.lowercased().hasSuffix(".conf") })
                        else { continue }
                        return Found(format: format, path: path)
                    }
                    if files.info(path)?.kind == .file { return Found(format: format, path: path) }
                }
            }
        }
        return nil
    }

    /// The on-disk spellings of a location pattern that exist.
    static func expand(_ pattern: String, files: any FileSource) -> [String] {
        let parts = Path.components(pattern)
        var prefixes = [""]
        for part in parts {
            var next: [String] = []
            for prefix in prefixes {
                let dir = prefix.isEmpty ? "/" : prefix
                guard let names = files.list(dir) else { continue }
                if part == "*" {
                    for name in names where files.info(prefix + "/" + name)?.kind == .directory {
                        next.append(prefix + "/" + name)
                    }
                } else {
                    // The exact spelling first, then any other case (FAT, ISO 9660).
                    let lower = part.lowercased()
                    let matches = names.filter { $0.lowercased() == lower }.sorted { a, _ in a == part }
                    next += matches.map { prefix + "/" + $0 }
                }
            }
            prefixes = next
            if prefixes.isEmpty { return [] }
        }
        return prefixes
    }

    /// The format of a config named explicitly: from its first line (`#!ipxe`), its name,
    /// then — for a name that says nothing, as configs fetched by URL often have — its
    /// first keyword. GRUB when nothing tells.
    public static func detect(path: String, head: [UInt8]) -> ConfigFormat {
        let firstLine = String(decoding: head.prefix { $0 != 0x0a }, as: UTF8.self).lowercased()
        if firstLine.hasPrefix("#!ipxe") { return .ipxe }
        let lower = path.lowercased()
        let name = Path.basename(lower)
        if lower.contains("/pxelinux.cfg/") { return .pxelinux }
        if lower.contains("/loader/entries/") && name.hasSuffix(".conf") { return .bls }
        switch name {
        case "extlinux.conf", "syslinux.cfg", "isolinux.cfg": return .syslinux
        case "yaboot.conf": return .yaboot
        case "kboot.conf": return .kboot
        case "kexboot.conf": return .native
        case "grub.cfg": return .grub
        default: return sniff(head) ?? .grub
        }
    }

    /// The format the first keyword of a config belongs to.
    static func sniff(_ head: [UInt8]) -> ConfigFormat? {
        let text = String(decoding: head, as: UTF8.self)
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let word = line.prefix { $0 != " " && $0 != "\t" && $0 != "=" }.lowercased()
            switch word {
            case "default", "label", "prompt", "timeout", "menu", "kernel", "append", "ui", "include", "say",
                 "serial", "implicit", "ontimeout", "totaltimeout", "display", "localboot", "ipappend", "sysappend":
                // `default=x` is yaboot's or kboot's; `DEFAULT x` is syslinux's.
                if word == "default" || word == "timeout", line.dropFirst(word.count).drop(while: { $0 == " " }).hasPrefix("=") { return nil }
                return .syslinux
            case "menuentry", "submenu", "set", "if", "insmod", "search", "function", "source", "load_env", "export":
                return .grub
            case "entry":
                return .native
            default:
                return nil
            }
        }
        return nil
    }
}
