import KexbootCore

/// syslinux, extlinux, isolinux and pxelinux configs.
///
/// Keywords are case-insensitive; `INCLUDE`/`MENU INCLUDE` nest (with a depth limit),
/// `CONFIG` switches to another file; paths are relative to the directory of the first
/// config (syslinux's working directory) unless absolute. `initrd=` inside `APPEND` is
/// taken out of the command line and becomes initrds; `.c32` modules other than
/// `mboot.c32` are left out (info); `mboot.c32` becomes a multiboot entry.
///
/// pxelinux only: the working directory is the TFTP path prefix (the parent of
/// `pxelinux.cfg/`, or the prefix given, which may be a URL); `::path` names a file from
/// the TFTP server's root whatever the prefix, `host::path` one on another TFTP server;
/// `IPAPPEND`/`SYSAPPEND` add `ip=` (1), `BOOTIF=` (2) and `SYSUUID=` (4) from the network
/// variables; `PROXY url` (a petitboot-style extension) names an HTTP proxy.
public struct SyslinuxConfig {
    struct Label {
        var name: String
        var menuLabel: String?
        var kernel: String?
        var kernelKeyword = "kernel"
        var append: String?
        var initrd: String?
        var fdt: String?
        var fdtdir: String?
        var ipappend: Int?
        var hidden = false
        var isDefault = false
        var localboot = false
        /// `CONFIG file` as the label's action: it opens another menu, nothing to kexec.
        var opensConfig: String?
        /// The MENU BEGIN submenus this label is inside, outermost first.
        var menus: [String] = []
        var location: SourceLocation
    }

    static let maxIncludeDepth = 16

    let files: any FileSource
    let env: [String: String]
    var diagnostics = DiagnosticSink()
    /// Files read (INCLUDE, CONFIG) and bytes parsed, against `ConfigLimits`.
    var input = InputBudget()
    var includeLimitReported = false
    /// Set at the `LABEL` past `ConfigLimits.maxEntries`: nothing more is read.
    var stopped = false
    var labels: [Label] = []
    var globalAppend: String?
    var globalIPAppend: Int?
    var defaultName: String?
    var timeout: Int?
    var totalTimeout: Int?
    /// Relative names of files to read (INCLUDE, CONFIG) resolve against this directory.
    var workingDirectory: String
    /// Relative kernel, initrd and devicetree names resolve against this: the working
    /// directory, or a URL when pxelinux's path prefix is one.
    var base: ResourceBase
    let format: ConfigFormat
    var proxy: String?
    var current: Int?
    /// Open MENU BEGIN blocks: their labels, outermost first.
    var menuStack: [String] = []
    var depth = 0
    var switchedTo: String?
    /// The `CONFIG` line that set `switchedTo`.
    var switchedAt: SourceLocation?

    init(files: any FileSource, env: [String: String], workingDirectory: String, base: ResourceBase? = nil,
         format: ConfigFormat = .syslinux) {
        self.files = files
        self.env = env
        self.workingDirectory = workingDirectory
        self.base = base ?? .directory(workingDirectory)
        self.format = format
    }

    /// Parses the config at `path` (and everything it includes).
    ///
    /// - Parameter workingDirectory: where relative names resolve (default: the config's
    ///   directory): a directory of `files`, or — for pxelinux, whose path prefix may be
    ///   one — a URL, which kernels and initrds then resolve against (included files are
    ///   still read from the filesystem: from the config's directory, or for pxelinux the
    ///   parent of `pxelinux.cfg/`).
    public static func parse(path: String, files: any FileSource, env: [(String, String)] = [],
                             format: ConfigFormat = .syslinux, workingDirectory: String? = nil) throws -> ParseResult {
        let config = Path.normalize(path)
        guard files.info(config)?.kind == .file else { throw KexbootError(.notFound, "\(config): no such file") }
        let base = workingDirectory.map(ResourceBase.init(prefix:)) ?? .directory(Path.directory(config))
        var directory = Path.directory(config)
        if case .directory(let given) = base {
            directory = given
        } else if format == .pxelinux, Path.basename(directory).lowercased() == "pxelinux.cfg" {
            directory = Path.directory(directory)
        }
        var parser = SyslinuxConfig(files: files, env: Dictionary(env, uniquingKeysWith: { $1 }),
                                    workingDirectory: directory, base: base, format: format)
        parser.read(config, at: nil, included: false)
        var hops = 0
        while let next = parser.switchedTo, !parser.stopped {
            guard hops < maxIncludeDepth else {
                parser.diagnostics.add(Diagnostic(.error, "CONFIG \(next): more than \(maxIncludeDepth) CONFIG switches (a loop?); not read", at: parser.switchedAt))
                break
            }
            // CONFIG: start over with the new file (and, if given, a new directory).
            hops += 1
            parser.switchedTo = nil
            parser.labels = []
            parser.current = nil
            parser.defaultName = nil
            parser.read(next, at: parser.switchedAt)
        }
        return parser.result(format: format, config: config)
    }

    /// A file to read: relative to the working directory (pxelinux `::path`: to the root).
    func resolve(_ name: String) -> String {
        if format == .pxelinux, let (host, path) = Self.tftpPath(name), host == nil {
            return Path.normalize(path)
        }
        return Path.join(workingDirectory, name)
    }

    /// pxelinux's special names: `::path` (from the TFTP server's root, bypassing the path
    /// prefix) and `host::path` (from another TFTP server).
    static func tftpPath(_ name: String) -> (host: String?, path: String)? {
        guard let marker = name.firstRange(of: "::") else { return nil }
        let host = name[..<marker.lowerBound]
        guard !host.contains("/") else { return nil }
        return (host.isEmpty ? nil : String(host), String(name[marker.upperBound...]))
    }

    /// IPAPPEND/SYSAPPEND values, which syslinux reads as C numbers (`0x3`, `03`).
    static func number(_ text: String) -> Int? {
        let t = text.trimmingBlanks().lowercased()
        if t.hasPrefix("0x") { return Int(t.dropFirst(2), radix: 16) }
        if t.count > 1 && t.hasPrefix("0") { return Int(t.dropFirst(), radix: 8) }
        return Int(t)
    }

    /// Reads a file: the config (`included: false`), or one it includes or switches to at
    /// `location`.
    mutating func read(_ path: String, at location: SourceLocation?, included: Bool = true) {
        guard depth < Self.maxIncludeDepth else {
            diagnostics.add(Diagnostic(.error, "\(path): includes nested more than \(Self.maxIncludeDepth) deep (a loop?); not read", at: location))
            return
        }
        let bytes: [UInt8]
        switch input.read(path, from: files, included: included) {
        case .success(let content):
            bytes = content
        case .failure(let refusal) where refusal.isLimit:
            if !includeLimitReported {
                includeLimitReported = true
                diagnostics.add(Diagnostic(.error, refusal.message, at: location, file: path))
            }
            return
        case .failure(let refusal):
            diagnostics.add(Diagnostic(.warning, refusal.message, at: location, file: path))
            return
        }
        depth += 1
        defer { depth -= 1 }
        var lineNumber = 0
        var inText = false
        for raw in ByteLines(bytes) {
            lineNumber += 1
            if switchedTo != nil || stopped { return }
            guard raw.count <= ConfigLimits.maxValueLength else {
                diagnostics.add(Diagnostic(.error, "a line longer than \(ConfigLimits.describe(bytes: ConfigLimits.maxValueLength)); ignored",
                                           at: SourceLocation(file: path, line: lineNumber, column: 1)))
                continue
            }
            let line = String(decoding: raw, as: UTF8.self).trimmingTrailingBlanks()
            let trimmed = Substring(line).drop { $0 == " " || $0 == "\t" }
            let here = SourceLocation(file: path, line: lineNumber, column: line.count - trimmed.count + 1)
            let words = trimmed.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first else { continue }
            let keyword = first.lowercased()
            let rest = words.count > 1 ? String(words[1].drop { $0 == " " || $0 == "\t" }).trimmingTrailingBlanks() : ""
            if inText {
                if keyword == "endtext" { inText = false }
                continue
            }
            if keyword.hasPrefix("#") { continue }
            handle(keyword, rest, at: here, inText: &inText)
        }
    }

    mutating func handle(_ keyword: String, _ rest: String, at here: SourceLocation, inText: inout Bool) {
        func setLabel(_ body: (inout Label) -> Void) {
            guard let i = current else {
                diagnostics.add(Diagnostic(.warning, "'\(keyword)' outside a LABEL", at: here))
                return
            }
            body(&labels[i])
        }
        switch keyword {
        case "label":
            guard labels.count < ConfigLimits.maxEntries else {
                diagnostics.add(Diagnostic(.error, EntryBudget.message(full: true), at: here))
                stopped = true
                return
            }
            labels.append(Label(name: rest, menus: menuStack, location: here))
            current = labels.count - 1
        case "kernel", "linux", "boot", "bss", "pxe", "fdimage", "comboot", "com32":
            setLabel { $0.kernel = rest; $0.kernelKeyword = keyword }
        case "append":
            if current == nil { globalAppend = rest } else { setLabel { $0.append = rest } }
        case "initrd":
            setLabel { $0.initrd = rest }
        case "fdt", "devicetree":
            setLabel { $0.fdt = rest }
        case "fdtdir", "devicetreedir":
            setLabel { $0.fdtdir = rest }
        case "ipappend", "sysappend":
            guard let value = Self.number(rest) else {
                diagnostics.add(Diagnostic(.warning, "\(keyword.uppercased()) '\(rest)' is not a number", at: here))
                return
            }
            if value & ~7 != 0 {
                diagnostics.add(Diagnostic(.info, "\(keyword.uppercased()) \(rest): only ip= (1), BOOTIF= (2) and SYSUUID= (4) are added", at: here))
            }
            if current == nil { globalIPAppend = value } else { setLabel { $0.ipappend = value } }
        case "proxy":
            proxy = rest.isEmpty ? nil : rest
        case "localboot":
            setLabel { $0.localboot = true }
        case "default":
            defaultName = rest
        case "ontimeout":
            if defaultName == nil { defaultName = rest }
        case "timeout":
            timeout = Int(rest)
            if timeout == nil { diagnostics.add(Diagnostic(.warning, "TIMEOUT '\(rest)' is not a number", at: here)) }
        case "totaltimeout":
            totalTimeout = Int(rest)
        case "include":
            let name = rest.split(separator: " ").first.map(String.init) ?? rest
            read(resolve(name), at: here)
        case "config":
            let parts = rest.split(separator: " ").map(String.init)
            guard let name = parts.first else { return }
            if let i = current {
                // Inside a label, CONFIG is what choosing the label does.
                labels[i].opensConfig = name
                return
            }
            if parts.count > 1 {
                workingDirectory = resolve(parts[1])
                if format == .pxelinux, let (host, path) = Self.tftpPath(parts[1]), host == nil {
                    base = base.root.appending(path)
                } else {
                    base = base.appending(parts[1])
                }
            }
            switchedTo = resolve(name)
            switchedAt = here
        case "text":
            inText = true
        case "menu":
            let sub = rest.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            let what = sub.first?.lowercased() ?? ""
            let arg = sub.count > 1 ? String(sub[1]) : ""
            switch what {
            case "begin":
                menuStack.append(arg.isEmpty ? "menu" : arg)
                current = nil
            case "end":
                if !menuStack.isEmpty { menuStack.removeLast() }
                current = nil
            case "label" where current == nil && !menuStack.isEmpty:
                menuStack[menuStack.count - 1] = arg.replacingCaret()
            case "title" where current == nil && !menuStack.isEmpty && menuStack.last == menuStack.last?.lowercased():
                // A submenu's title names it when it has no MENU LABEL (the tag is lower case).
                menuStack[menuStack.count - 1] = arg.replacingCaret()
            case "label": setLabel { $0.menuLabel = arg.replacingCaret() }
            case "default": setLabel { $0.isDefault = true }
            case "hide": setLabel { $0.hidden = true }
            case "include":
                let name = arg.split(separator: " ").first.map(String.init) ?? arg
                read(resolve(name), at: here)
            default: break  // MENU TITLE, colours, passwords, separators: display only.
            }
        case "ui", "prompt", "display", "say", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10",
             "f11", "f12", "serial", "console", "font", "kbdmap", "allowoptions", "noescape", "nocomplete",
             "implicit", "path", "endtext":
            break
        default:
            diagnostics.add(Diagnostic(.info, "unknown keyword '\(keyword)'", at: here))
        }
    }

    /// The `ip=`/`BOOTIF=`/`SYSUUID=` words IPAPPEND/SYSAPPEND add, from the network variables
    /// (`net_default_uuid` for the system UUID).
    func ipappendWords(_ flags: Int) -> [String] {
        var words: [String] = []
        if flags & 1 != 0, let ip = env["net_default_ip"] {
            let server = env["net_default_server"] ?? ""
            let gateway = env["net_default_gateway"] ?? ""
            let netmask = env["net_default_netmask"] ?? ""
            words.append("ip=\(ip):\(server):\(gateway):\(netmask)")
        }
        if flags & 2 != 0, let mac = env["net_default_mac"] {
            words.append("BOOTIF=01-" + mac.lowercased().replacingColons())
        }
        if flags & 4 != 0, let uuid = env["net_default_uuid"] ?? env["uuid"], !uuid.isEmpty {
            words.append("SYSUUID=" + uuid.lowercased())
        }
        return words
    }

    mutating func result(format: ConfigFormat, config: String) -> ParseResult {
        var result = ParseResult(format: format, config: config)
        result.proxy = proxy
        var defaultIndex: Int?
        var kept = EntryBudget()
        for label in labels {
            let title = label.menuLabel ?? label.name
            if let other = label.opensConfig, label.kernel == nil {
                diagnostics.add(Diagnostic(.info, "'\(title)' left out: it opens another menu (\(other))", at: label.location))
                continue
            }
            if label.localboot && label.kernel == nil {
                diagnostics.add(Diagnostic(.info, "'\(title)' left out: LOCALBOOT boots the next device", at: label.location))
                continue
            }
            guard let kernelName = label.kernel?.split(separator: " ").first.map(String.init), !kernelName.isEmpty else {
                diagnostics.add(Diagnostic(.info, "'\(title)' left out: it has no kernel", at: label.location))
                continue
            }
            if label.hidden {
                diagnostics.add(Diagnostic(.info, "'\(title)' left out: MENU HIDE", at: label.location))
                continue
            }
            // KERNEL may carry arguments of its own ("KERNEL vmlinuz quiet").
            let kernelArgs = label.kernel!.split(separator: " ").dropFirst().map(String.init)
            var appendText = label.append ?? globalAppend ?? ""
            if appendText == "-" { appendText = "" }
            var words = kernelArgs + appendText.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let lower = kernelName.lowercased()
            if lower.hasSuffix(".c32") && Path.basename(lower) != "mboot.c32" {
                diagnostics.add(Diagnostic(.info, "'\(title)' left out: \(Path.basename(kernelName)) is a syslinux module", at: label.location))
                continue
            }
            if label.kernelKeyword == "kernel" && [".0", ".bin", ".bs", ".bss", ".com", ".cbt", ".img"].contains(where: { lower.hasSuffix($0) }) {
                diagnostics.add(Diagnostic(.info, "'\(title)' left out: \(Path.basename(kernelName)) is not a Linux kernel", at: label.location))
                continue
            }
            var option: BootOption
            if Path.basename(lower) == "mboot.c32" {
                // mboot.c32: KERNEL --- MODULE args --- MODULE args …
                let parts = words.split(separator: "---", omittingEmptySubsequences: false).map(Array.init)
                guard let head = parts.first, let hypervisor = head.first else {
                    diagnostics.add(Diagnostic(.warning, "'\(title)': mboot.c32 without a kernel", at: label.location))
                    continue
                }
                option = BootOption(id: label.name, title: title, path: label.menus + [title], kind: .multiboot, kernel: resource(hypervisor),
                                    modules: parts.dropFirst().compactMap { m in
                                        m.first.map { BootModule(resource: resource($0), args: m.dropFirst().joined(separator: " ")) }
                                    },
                                    args: head.dropFirst().joined(separator: " "))
            } else {
                var initrds: [Resource] = []
                if let line = label.initrd {
                    initrds += line.split(separator: ",").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty }.map(resource)
                }
                words = words.filter { word in
                    guard word.prefix(7).lowercased() == "initrd=" else { return true }
                    initrds += word.dropFirst(7).split(separator: ",").map { resource(String($0)) }
                    return false
                }
                words += ipappendWords(label.ipappend ?? globalIPAppend ?? 0)
                option = BootOption(id: label.name, title: title, path: label.menus + [title], kind: .linux, kernel: resource(kernelName),
                                    initrds: initrds, devicetree: label.fdt.map(resource) ?? label.fdtdir.flatMap { deviceTree(in: $0, at: label.location) },
                                    args: words.joined(separator: " "))
            }
            guard kept.admit(option) else {
                if let refusal = kept.refusal(at: label.location, file: config) { diagnostics.add(refusal) }
                break
            }
            if label.isDefault || (defaultIndex == nil && label.name == defaultName?.split(separator: " ").first.map(String.init)) {
                if label.isDefault || defaultIndex == nil { defaultIndex = result.entries.count }
            }
            result.entries.append(option)
        }
        if let name = defaultName, defaultIndex == nil, !result.entries.isEmpty, !labels.contains(where: { $0.isDefault }) {
            diagnostics.add(Diagnostic(.warning, "DEFAULT '\(name)' names no label; using the first entry", file: config))
        }
        result.defaultIndex = defaultIndex
        if let t = timeout ?? totalTimeout {
            // Tenths of a second, rounded up; 0 means wait.
            result.timeout = t <= 0 ? -1 : t / 10 + (t % 10 == 0 ? 0 : 1)
        }
        result.diagnostics = diagnostics.items
        result.finish()
        return result
    }

    /// `FDTDIR DIR`: the machine's DTB in DIR, as U-Boot picks it: `$fdtfile` when set
    /// (`--env fdtfile=rockchip/rk3399-rockpro64.dtb`), else the first of the running
    /// device tree's `compatible` strings (`vendor,board`, given as `fdt_compatible`) that
    /// has a `vendor/board.dtb` (arm64's layout) or `board.dtb` there. Without either, the
    /// entry keeps the running device tree.
    mutating func deviceTree(in directory: String, at location: SourceLocation) -> Resource? {
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if let file = env["fdtfile"], !file.isEmpty { return resource(dir + "/" + file) }
        let compatible = (env["fdt_compatible"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard !compatible.isEmpty else {
            diagnostics.add(Diagnostic(.info, "FDTDIR \(directory): the machine's device tree name is not known (fdtfile); the running device tree is kept", at: location))
            return nil
        }
        for compat in compatible {
            let parts = compat.split(separator: ",", maxSplits: 1).map(String.init)
            let board = parts.last ?? compat
            let names = parts.count == 2 ? ["\(parts[0])/\(board).dtb", "\(board).dtb"] : ["\(board).dtb"]
            for name in names {
                let candidate = resource(dir + "/" + name)
                // Only files on this filesystem can be checked; a network DTB is taken on trust.
                guard case .file(nil, let path) = candidate else { return candidate }
                if files.info(path)?.kind == .file { return candidate }
            }
        }
        diagnostics.add(Diagnostic(.warning, "FDTDIR \(directory) has no DTB for \(compatible.joined(separator: ", ")); the running device tree is kept", at: location))
        return nil
    }

    /// A kernel, initrd or devicetree name as a resource: an absolute URL as it is; pxelinux
    /// `::path` from the server's root and `host::path` from another TFTP server; anything
    /// else against the working directory (or the URL prefix).
    func resource(_ name: String) -> Resource {
        if URLText.scheme(of: name) != nil { return .url(name) }
        if format == .pxelinux, let (host, path) = Self.tftpPath(name) {
            if let host { return .url("tftp://\(host)/" + path.drop { $0 == "/" }) }
            return base.root.resource(path)
        }
        return base.resource(name)
    }
}

extension String {
    /// MENU LABEL marks its hotkey with `^`.
    func replacingCaret() -> String { filter { $0 != "^" } }
}
