import KexbootCore

/// syslinux, extlinux, isolinux and pxelinux configs.
///
/// Keywords are case-insensitive; `INCLUDE`/`MENU INCLUDE` nest (with a depth limit);
/// paths are relative to the directory of the first config (syslinux's working directory)
/// unless absolute. `initrd=` inside `APPEND` is taken out of the command line and becomes
/// initrds.
///
/// What a `LABEL` runs is its last kernel-like directive (syslinux.cfg(5)): `LINUX`, or
/// `KERNEL` with a name that does not end in one of syslinux's image extensions, is a Linux
/// kernel; `COM32 mboot.c32` (or `KERNEL mboot.c32`) a multiboot kernel with its modules.
/// `BOOT`/`BSS` (boot sectors), `PXE`, `FDIMAGE`, `COMBOOT`, other `COM32` modules,
/// `LOCALBOOT`, and `KERNEL` of a `.0`, `.bin`, `.bs`, `.bss`, `.c32`, `.cbt`, `.com` or
/// `.img` file are nothing kexec can boot: the label is left out (info). `CONFIG file
/// [dir]` in a label opens another menu: a submenu titled by the label holding that file's
/// entries, its names relative to `dir` (else the first word of the label's `APPEND`, as
/// syslinux takes it) when given. `CONFIG` outside a label switches to the other file at
/// once.
///
/// pxelinux only: the working directory is the TFTP path prefix (the parent of
/// `pxelinux.cfg/`, or the prefix given, which may be a URL) and every file name is
/// relative to it, a leading `/` included (pxelinux puts the prefix in front of the name);
/// only `::path` names a file from the TFTP server's root, `host::path` one on another
/// TFTP server, and a URL itself. `IPAPPEND`/`SYSAPPEND` add `ip=` (1), `BOOTIF=` (2) and
/// `SYSUUID=` (4) from the network variables; `PROXY url` (a petitboot-style extension)
/// names an HTTP proxy.
public struct SyslinuxConfig {
    struct Label {
        var name: String
        var menuLabel: String?
        /// The argument of the label's kernel-like directive (the last one given).
        var kernel: String?
        /// That directive, lower case: `kernel`, `linux`, `boot`, `bss`, `pxe`, `fdimage`,
        /// `comboot`, `com32`, `config` or `localboot`.
        var kernelKeyword = "kernel"
        /// Where the kernel-like directive is.
        var kernelAt: SourceLocation?
        var append: String?
        var initrd: String?
        var fdt: String?
        var fdtdir: String?
        var ipappend: Int?
        var hidden = false
        var isDefault = false
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
    /// Labels of the other files of this parse (the menus CONFIG labels open), against
    /// `ConfigLimits.maxEntries` with `labels`.
    var otherLabels = 0
    /// How many CONFIG labels deep this file's menu is.
    var menuDepth = 0
    var menuDepthReported = false
    /// The files whose menus lead here (this one's included): a CONFIG label that opens one
    /// of them goes back, as a "Back" item does, and is no submenu.
    var openMenus: [String] = []
    /// Set when the entries kept reach the limits of `EntryBudget`: no more are built.
    var entriesFull = false
    var globalAppend: String?
    var globalIPAppend: Int?
    var defaultName: String?
    /// The DEFAULT (or ONTIMEOUT) line that set `defaultName`.
    var defaultAt: SourceLocation?
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
        parser.readConfig(config, at: nil, included: false)
        return parser.result(format: format, config: config)
    }

    /// Reads a config (the first, or one a CONFIG label opens at `location`), and the files
    /// a CONFIG outside a label switches to.
    mutating func readConfig(_ path: String, at location: SourceLocation?, included: Bool = true) {
        openMenus.append(path)
        read(path, at: location, included: included)
        var hops = 0
        while let next = switchedTo, !stopped {
            guard hops < Self.maxIncludeDepth else {
                diagnostics.add(Diagnostic(.error, "CONFIG \(next): more than \(Self.maxIncludeDepth) CONFIG switches (a loop?); not read", at: switchedAt))
                break
            }
            // CONFIG: start over with the new file (and, if given, a new directory).
            hops += 1
            switchedTo = nil
            labels = []
            current = nil
            defaultName = nil
            defaultAt = nil
            openMenus.append(next)
            read(next, at: switchedAt)
        }
    }

    /// pxelinux puts its path prefix in front of every name that is not `::path`,
    /// `host::path` or a URL, so a leading `/` is relative to the prefix too.
    func prefixed(_ name: String) -> String {
        format == .pxelinux ? String(name.drop { $0 == "/" }) : name
    }

    /// A file to read: relative to the working directory (pxelinux `::path`: to the root).
    func resolve(_ name: String) -> String {
        if format == .pxelinux, let (host, path) = Self.tftpPath(name), host == nil {
            return Path.normalize(path)
        }
        return Path.join(workingDirectory, prefixed(name))
    }

    /// The working directory and resource base after a CONFIG's directory `name`.
    func changedDirectory(_ name: String) -> (String, ResourceBase) {
        guard format == .pxelinux else { return (resolve(name), base.appending(name)) }
        if URLText.scheme(of: name) != nil { return (workingDirectory, ResourceBase(prefix: name)) }
        if let (host, path) = Self.tftpPath(name) {
            if let host { return (workingDirectory, ResourceBase(prefix: "tftp://\(host)/" + path.drop { $0 == "/" })) }
            return (resolve(name), base.root.appending(path))
        }
        return (resolve(name), base.appending(prefixed(name)))
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
            guard otherLabels + labels.count < ConfigLimits.maxEntries else {
                diagnostics.add(Diagnostic(.error, EntryBudget.message(full: true), at: here))
                stopped = true
                return
            }
            labels.append(Label(name: rest, menus: menuStack, location: here))
            current = labels.count - 1
        case "kernel", "linux", "boot", "bss", "pxe", "fdimage", "comboot", "com32", "localboot":
            // Kernel-like directives: the last one in a label is what it runs.
            setLabel { $0.kernel = rest; $0.kernelKeyword = keyword; $0.kernelAt = here }
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
        case "default":
            defaultName = rest
            defaultAt = here
        case "ontimeout":
            if defaultName == nil {
                defaultName = rest
                defaultAt = here
            }
        case "timeout":
            timeout = Int(rest)
            if timeout == nil { diagnostics.add(Diagnostic(.warning, "TIMEOUT '\(rest)' is not a number", at: here)) }
        case "totaltimeout":
            totalTimeout = Int(rest)
        case "include":
            let name = rest.split(separator: " ").first.map(String.init) ?? rest
            read(resolve(name), at: here)
        case "config":
            let parts = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let name = parts.first else { return }
            if let i = current {
                // Inside a label, CONFIG is the label's kernel-like directive: choosing the
                // label opens that file's menu.
                labels[i].kernel = rest
                labels[i].kernelKeyword = keyword
                labels[i].kernelAt = here
                return
            }
            // The file is found from the current directory, then the directory changes.
            switchedTo = resolve(name)
            switchedAt = here
            if parts.count > 1 { (workingDirectory, base) = changedDirectory(parts[1]) }
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
        var kept = EntryBudget()
        result.defaultIndex = appendEntries(to: &result.entries, kept: &kept, config: config, outer: [])
        if let t = timeout ?? totalTimeout {
            // Tenths of a second, rounded up; 0 means wait.
            result.timeout = t <= 0 ? -1 : t / 10 + (t % 10 == 0 ? 0 : 1)
        }
        result.diagnostics = diagnostics.items
        result.finish()
        return result
    }

    /// What a label's kernel-like directive runs. `KERNEL` goes by the file's extension, as
    /// syslinux.cfg(5) lists them under the other directives; anything else is `linux`.
    static func imageKind(keyword: String, file: String) -> String {
        guard keyword == "kernel" else { return keyword }
        let name = Path.basename(file).lowercased()
        guard let dot = name.lastIndex(of: ".") else { return "linux" }
        switch name[dot...] {
        case ".0": return "pxe"
        case ".bin", ".bs": return "boot"
        case ".bss": return "bss"
        case ".c32": return "com32"
        case ".cbt", ".com": return "comboot"
        case ".img": return "fdimage"
        default: return "linux"
        }
    }

    /// What an image kexec cannot boot is, by the kind `imageKind` gives.
    static let unbootableKinds: [String: String] = [
        "pxe": "a PXE network boot program", "boot": "a boot sector", "bss": "a boot sector",
        "com32": "a COM32 module", "comboot": "a COMBOOT program", "fdimage": "a floppy image",
        "localboot": "a local boot",
    ]

    /// Appends the entries of the labels read to `entries`, their paths under `outer` (the
    /// titles of the CONFIG labels that lead here), and returns the index of the one
    /// DEFAULT or MENU DEFAULT picks (`nil`: none).
    mutating func appendEntries(to entries: inout [BootOption], kept: inout EntryBudget, config: String, outer: [String]) -> Int? {
        let first = entries.count
        var defaultIndex: Int?
        /// A label DEFAULT or MENU DEFAULT names that gave no entry.
        var defaultLeftOut: String?
        let wanted = defaultName?.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        for label in labels {
            guard !entriesFull else { break }
            let picked = entry(for: label, into: &entries, kept: &kept, config: config, outer: outer)
            if label.isDefault || (defaultIndex == nil && label.name == wanted) {
                if let picked {
                    if label.isDefault || defaultIndex == nil { defaultIndex = picked }
                } else if defaultIndex == nil {
                    defaultLeftOut = label.name
                }
            }
        }
        if defaultIndex == nil && entries.count > first {
            if let name = defaultLeftOut {
                diagnostics.add(Diagnostic(.warning, "default '\(name)' names an entry kexec cannot boot; using the first entry", at: defaultAt, file: config))
            } else if let name = defaultName, !labels.contains(where: { $0.isDefault }) {
                diagnostics.add(Diagnostic(.warning, "DEFAULT '\(name)' names no label; using the first entry", at: defaultAt, file: config))
            }
        }
        return defaultIndex
    }

    /// Adds what `label` gives to `entries`: an entry, the entries of the menu it opens, or
    /// nothing (with the reason). Returns the index of the entry choosing the label boots.
    mutating func entry(for label: Label, into entries: inout [BootOption], kept: inout EntryBudget, config: String, outer: [String]) -> Int? {
        let title = label.menuLabel ?? label.name
        let text = label.kernel ?? ""
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let kernelName = words.first else {
            let what = label.kernel == nil ? "it has no kernel" : "its \(label.kernelKeyword.uppercased()) names no file"
            diagnostics.add(Diagnostic(.info, "'\(title)' left out: \(what)", at: label.location))
            return nil
        }
        let kind = Self.imageKind(keyword: label.kernelKeyword, file: kernelName)
        let isMultiboot = kind == "com32" && Path.basename(kernelName).lowercased() == "mboot.c32"
        if let what = Self.unbootableKinds[kind], !isMultiboot {
            let byExtension = label.kernelKeyword == "kernel" ? ", by its extension" : ""
            diagnostics.add(Diagnostic(.info, "'\(title)' left out: it uses '\(label.kernelKeyword.uppercased()) \(text)' (\(what)\(byExtension)), which kexec cannot boot",
                                       at: label.location))
            return nil
        }
        if label.hidden {
            diagnostics.add(Diagnostic(.info, "'\(title)' left out: MENU HIDE", at: label.location))
            return nil
        }
        if kind == "config" {
            return submenu(label, title: title, file: kernelName, directory: words.dropFirst().first,
                           into: &entries, kept: &kept, outer: outer)
        }
        // KERNEL may carry arguments of its own ("KERNEL vmlinuz quiet").
        var appendText = label.append ?? globalAppend ?? ""
        if appendText == "-" { appendText = "" }
        var args = Array(words.dropFirst()) + appendText.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        var option: BootOption
        if isMultiboot {
            // mboot.c32: KERNEL --- MODULE args --- MODULE args …
            let parts = args.split(separator: "---", omittingEmptySubsequences: false).map(Array.init)
            guard let head = parts.first, let hypervisor = head.first else {
                diagnostics.add(Diagnostic(.warning, "'\(title)': mboot.c32 without a kernel", at: label.location))
                return nil
            }
            option = BootOption(id: label.name, title: title, path: outer + label.menus + [title], kind: .multiboot, kernel: resource(hypervisor),
                                modules: parts.dropFirst().compactMap { m in
                                    m.first.map { BootModule(resource: resource($0), args: m.dropFirst().joined(separator: " ")) }
                                },
                                args: head.dropFirst().joined(separator: " "))
        } else {
            var initrds: [Resource] = []
            if let line = label.initrd {
                initrds += line.split(separator: ",").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty }.map(resource)
            }
            args = args.filter { word in
                guard word.prefix(7).lowercased() == "initrd=" else { return true }
                initrds += word.dropFirst(7).split(separator: ",").map { resource(String($0)) }
                return false
            }
            args += ipappendWords(label.ipappend ?? globalIPAppend ?? 0)
            option = BootOption(id: label.name, title: title, path: outer + label.menus + [title], kind: .linux, kernel: resource(kernelName),
                                initrds: initrds, devicetree: label.fdt.map(resource) ?? label.fdtdir.flatMap { deviceTree(in: $0, at: label.location) },
                                args: args.joined(separator: " "))
        }
        guard kept.admit(option) else {
            if let refusal = kept.refusal(at: label.location, file: config) { diagnostics.add(refusal) }
            entriesFull = true
            return nil
        }
        entries.append(option)
        return entries.count - 1
    }

    /// `CONFIG file [dir]` in a label: the menu of `file` (found from the current directory;
    /// its own names then relative to `dir`, else to the first word of the label's APPEND,
    /// which syslinux takes as the directory) as a submenu titled by the label. Returns the
    /// index of the entry that menu's DEFAULT picks, else of its first.
    mutating func submenu(_ label: Label, title: String, file: String, directory: String?,
                          into entries: inout [BootOption], kept: inout EntryBudget, outer: [String]) -> Int? {
        let path = resolve(file)
        guard !openMenus.contains(path) else {
            diagnostics.add(Diagnostic(.info, "'\(title)' left out: it goes back to the menu of \(file), which this one is in", at: label.location))
            return nil
        }
        guard menuDepth < Self.maxIncludeDepth else {
            if !menuDepthReported {
                menuDepthReported = true
                diagnostics.add(Diagnostic(.error, "CONFIG \(file): menus nested more than \(Self.maxIncludeDepth) deep (a loop?); this and deeper ones are not read", at: label.kernelAt))
            }
            return nil
        }
        var append = label.append ?? globalAppend
        if append == "-" { append = nil }
        let newDirectory = directory ?? append?.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        var child = SyslinuxConfig(files: files, env: env, workingDirectory: workingDirectory, base: base, format: format)
        if let newDirectory { (child.workingDirectory, child.base) = changedDirectory(newDirectory) }
        child.input = input
        child.diagnostics = diagnostics
        child.includeLimitReported = includeLimitReported
        child.menuDepthReported = menuDepthReported
        child.otherLabels = otherLabels + labels.count
        child.menuDepth = menuDepth + 1
        child.openMenus = openMenus
        child.readConfig(path, at: label.kernelAt)
        let first = entries.count
        let picked = child.appendEntries(to: &entries, kept: &kept, config: path, outer: outer + label.menus + [title])
        input = child.input
        diagnostics = child.diagnostics
        includeLimitReported = child.includeLimitReported
        menuDepthReported = child.menuDepthReported
        otherLabels = child.otherLabels + child.labels.count - labels.count
        entriesFull = child.entriesFull
        if entries.count == first {
            diagnostics.add(Diagnostic(.info, "'\(title)' left out: the menu it opens (\(file)) has no entry kexec can boot", at: label.location))
            return nil
        }
        return picked ?? first
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
    /// else against the working directory (or the URL prefix) — for pxelinux a `/`-rooted
    /// name too.
    func resource(_ name: String) -> Resource {
        if URLText.scheme(of: name) != nil { return .url(name) }
        if format == .pxelinux, let (host, path) = Self.tftpPath(name) {
            if let host { return .url("tftp://\(host)/" + path.drop { $0 == "/" }) }
            return base.root.resource(path)
        }
        return base.resource(prefixed(name))
    }
}

extension String {
    /// MENU LABEL marks its hotkey with `^`.
    func replacingCaret() -> String { filter { $0 != "^" } }
}
