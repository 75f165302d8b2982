#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KexbootCore

extension GrubInterpreter {
    func runBuiltin(_ builtin: GrubBuiltin, _ argv: [String], _ command: GrubCommand) -> Flow {
        let args = Array(argv.dropFirst())
        let loc = command.location
        var result = 0
        switch builtin {
        case .set:
            // GRUB's `set` takes one NAME=VALUE; with none it lists the environment.
            if let first = args.first {
                guard let eq = first.firstIndex(of: "="), isVariableName(first[..<eq]) else {
                    warn("set: '\(first)' is not NAME=VALUE", at: loc)
                    status = 1
                    return .next
                }
                setVariable(String(first[..<eq]), String(first[first.index(after: eq)...]))
            }
        case .unset:
            for name in args { context.vars[name] = nil }
        case .export:
            for arg in args {
                var name = arg
                if let eq = arg.firstIndex(of: "=") {
                    name = String(arg[..<eq])
                    setVariable(name, String(arg[arg.index(after: eq)...]))
                }
                guard isVariableName(name) else { continue }
                if context.vars[name] == nil { context.vars[name] = GrubVariable(value: "", exported: true) }
                context.vars[name]!.exported = true
            }
        case .test, .bracket:
            // GRUB drops a final `]` for `test` and `[` alike and evaluates a `[` without
            // one as written (GrubTestExpression lists every rule).
            if builtin == .bracket, args.last != "]" {
                info("'[' without a closing ']': evaluated as written, as GRUB does", at: loc)
            }
            result = GrubTestExpression.command(args, lookup: { self.testLookup($0) }) ? 0 : 1
        case .true:
            result = 0
        case .false:
            result = 1
        case .search, .searchUUID, .searchLabel, .searchFile:
            result = search(builtin, args, at: loc)
        case .source, .dot:
            guard let path = args.first else {
                warn("source: no file given", at: loc)
                status = 1
                return .next
            }
            return sourceFile(path, opensContext: false, at: loc)
        case .configfile:
            guard let path = args.first else {
                warn("configfile: no file given", at: loc)
                status = 1
                return .next
            }
            return sourceFile(path, opensContext: true, at: loc)
        case .loadEnv:
            result = loadEnv(args, at: loc)
        case .saveEnv:
            result = 0  // Reading a config never writes to the disk.
        case .blscfg:
            result = blscfg(at: loc)
        case .linux, .linux16, .linuxefi:
            result = loadLinux(argv, at: loc)
        case .initrd, .initrd16, .initrdefi:
            result = loadInitrd(argv, at: loc)
        case .devicetree:
            result = loadDevicetree(argv, at: loc)
        case .multiboot, .multiboot2:
            result = loadMultiboot(argv, at: loc)
        case .module, .module2:
            result = loadModule(argv, at: loc)
        case .regexp:
            result = regexp(args, at: loc)
        case .menuentry, .hiddenentry, .submenu:
            result = defineMenuItem(builtin, args, block: command.block, at: loc)
        case .break, .continue:
            let n = args.first.flatMap { Int($0) } ?? 1
            guard n >= 1 else {
                warn("\(builtin.rawValue): bad loop count '\(args[0])'", at: loc)
                status = 1
                return .next
            }
            status = 0
            return builtin == .break ? .breakLoop(n) : .continueLoop(n)
        case .return:
            status = args.first.flatMap { Int($0) } ?? status
            return .returned
        case .shift:
            let n = args.first.flatMap { Int($0) } ?? 1
            if var frame = frames.last, n >= 0, n <= frame.count {
                frame.removeFirst(n)
                frames[frames.count - 1] = frame
            } else {
                result = 1
            }
        case .setparams:
            frames[frames.count - 1] = args
        case .eval:
            let text = args.joined(separator: " ")
            let file = SourceFile(path: "\(loc.file):\(loc.line) (eval)", text: text)
            guard sourceDepth < Self.maxSourceDepth else {
                diagnostics.add(.error, "eval nested too deep", at: loc)
                status = 1
                return .next
            }
            sourceDepth += 1
            defer { sourceDepth -= 1 }
            return run(SourceRange(file: file))
        case .exit:
            return .stop
        case .loopback:
            // `loopback NAME FILE` makes `(NAME)` a device backed by FILE; `-d NAME` drops it.
            var words = args[...]
            let delete = words.first == "-d"
            if delete { words = words.dropFirst() }
            let name = words.first.map { String($0.drop { $0 == "(" }.prefix { $0 != ")" }) } ?? ""
            if delete, !name.isEmpty {
                loopbacks[name] = nil
                result = 0
            } else if !name.isEmpty, words.count >= 2 {
                loopbacks[name] = resource(words[words.index(after: words.startIndex)])
                result = 0
            } else {
                diagnostics.add(.warning, "loopback needs a device name and a file", at: loc)
                result = 1
            }
        case .probe:
            result = probe(args, at: loc)
        }
        status = result
        return .next
    }

    // MARK: Devices and paths

    enum DeviceRef: Equatable {
        case this
        /// A filesystem named as the resource JSON names it: `uuid:…`, `grub:hd0,gpt2`, ….
        case named(String)
        case network(scheme: String, server: String?)
    }

    func resolveDevice(_ raw: String) -> DeviceRef {
        var name = Substring(raw)
        if name.hasPrefix("(") { name = name.dropFirst() }
        if name.hasSuffix(")") { name = name.dropLast() }
        if name.isEmpty || name == thisDevice { return .this }
        if let colon = name.firstIndex(of: ":") {
            let kind = String(name[..<colon]), value = String(name[name.index(after: colon)...])
            if ["uuid", "label", "partuuid", "partlabel"].contains(kind) {
                return identity.matches(kind: kind, value: value) ? .this : .named("\(kind):\(value)")
            }
        }
        let head = name.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
        if let scheme = head.first.map(String.init), ["tftp", "http", "https", "ftp", "pxe"].contains(scheme) {
            let server = head.count > 1 ? String(head[1]) : nil
            return .network(scheme: scheme == "pxe" ? "tftp" : scheme, server: server)
        }
        return .named("grub:\(name)")
    }

    /// Splits a GRUB file name into its device (from `(dev)` or `$root`) and a normalised
    /// absolute path.
    func splitFileName(_ name: String) -> (DeviceRef, String) {
        var device = variable("root")
        var path = Substring(name)
        if name.hasPrefix("("), let close = name.firstIndex(of: ")") {
            device = String(name[name.index(after: name.startIndex)..<close])
            path = name[name.index(after: close)...]
        }
        return (resolveDevice(device), Path.normalize(String(path)))
    }

    func resource(_ name: String) -> Resource {
        let (device, path) = splitFileName(name)
        switch device {
        case .this:
            return .file(device: nil, path: path)
        case .named(let d):
            return .file(device: d, path: path)
        case .network(let scheme, let server):
            let host = server ?? [variable("net_default_server"), variable("pxe_default_server")].first { !$0.isEmpty }
            guard let host else { return .file(device: "grub:\(scheme)", path: path) }
            return .url("\(scheme)://\(host)\(path)")
        }
    }

    /// The path on this filesystem that a GRUB file name reads, or `nil` when it is on
    /// another device. A UUID or label kexboot was not told about might be this filesystem,
    /// so such names are tried here too.
    func localPath(_ name: String) -> String? {
        let (device, path) = splitFileName(name)
        switch device {
        case .this:
            return path
        case .named(let d):
            if let colon = d.firstIndex(of: ":"), identity.unknown(kind: String(d[..<colon])) { return path }
            return nil
        case .network:
            return nil
        }
    }

    /// What `test` sees at a GRUB file name: a device kexboot cannot look into is `unknown`.
    func testLookup(_ name: String) -> GrubFileLookup {
        guard let path = localPath(name) else { return .unknown }
        return files.info(path).map(GrubFileLookup.found) ?? .missing
    }

    func fileInfo(_ name: String) -> FileInfo? {
        guard let path = localPath(name) else { return nil }
        return files.info(path)
    }

    /// Reads a file the config names (`source`, `configfile`, `load_env`): counted against
    /// `ConfigLimits.maxIncludedFiles`; its bytes count when they are parsed (`run`), or
    /// at once when the file is not a script (`parsed: false`).
    func readFile(_ name: String, at location: SourceLocation, purpose: String, parsed: Bool = true) -> SourceFile? {
        guard let path = localPath(name) else {
            warn("\(purpose): \(name) is on another device (\(describe(splitFileName(name).0))), not read", at: location)
            return nil
        }
        switch input.read(path, from: files, charge: !parsed) {
        case .success(let bytes):
            return SourceFile(path: path, bytes: bytes)
        case .failure(let refusal) where refusal.isLimit:
            if !includeLimitReported {
                includeLimitReported = true
                diagnostics.add(.error, "\(purpose): \(refusal.message)", at: location)
            }
            return nil
        case .failure(let refusal):
            warn("\(purpose): \(refusal.message)", at: location)
            return nil
        }
    }

    func describe(_ device: DeviceRef) -> String {
        switch device {
        case .this: thisDevice
        case .named(let d): d
        case .network(let scheme, let server): "\(scheme)\(server.map { ",\($0)" } ?? "")"
        }
    }

    // MARK: search, probe

    func search(_ builtin: GrubBuiltin, _ args: [String], at loc: SourceLocation) -> Int {
        var kind: String?
        var variableName: String?
        var names: [String] = []
        switch builtin {
        case .searchUUID: kind = "uuid"
        case .searchLabel: kind = "label"
        case .searchFile: kind = "file"
        default: break
        }
        var i = 0
        while i < args.count {
            let a = args[i]
            i += 1
            switch a {
            case "-u", "--fs-uuid": kind = "uuid"
            case "-l", "--label": kind = "label"
            case "-f", "--file": kind = "file"
            case "-s", "--set": variableName = "root"
            case "-n", "--no-floppy", "--efidisk-only", "--cryptodisk-only", "--disk-only": break
            case "-h", "--hint", "--hint-bios", "--hint-efi", "--hint-baremetal", "--hint-ieee1275", "--hint-arc", "--hint-xen":
                i += 1  // the hint itself
            default:
                if a.hasPrefix("--set=") {
                    variableName = String(a.dropFirst(6))
                } else if a.hasPrefix("--hint") && a.contains("=") {
                    break
                } else if a.hasPrefix("-") && a.count > 1 {
                    warn("search: unknown option '\(a)'", at: loc)
                } else {
                    names.append(a)
                }
            }
        }
        if builtin != .search {
            // search.fs_uuid UUID [VARIABLE]
            if names.count > 1 { variableName = names[1] }
            if variableName == nil { variableName = "root" }
        }
        guard let kind else {
            warn("search: no search type (--fs-uuid, --label or --file)", at: loc)
            return 1
        }
        guard let name = names.first else {
            warn("search: nothing to search for", at: loc)
            return 1
        }
        let found: String?
        switch kind {
        case "file":
            found = files.info(Path.normalize(name)) != nil ? thisDevice : nil
        default:
            found = identity.matches(kind: kind, value: name) ? thisDevice : "\(kind):\(name)"
        }
        guard let found else { return 1 }
        if let variableName { setVariable(variableName, found) }
        return 0
    }

    /// `probe [--set VAR] --fs-uuid|--label|--fs|--part-uuid DEVICE`, for this device.
    func probe(_ args: [String], at loc: SourceLocation) -> Int {
        var variableName: String?
        var what: String?
        var device: String?
        var i = 0
        while i < args.count {
            let a = args[i]
            i += 1
            if a == "-s" || a == "--set" {
                if i < args.count { variableName = args[i]; i += 1 }
            } else if a.hasPrefix("--set=") {
                variableName = String(a.dropFirst(6))
            } else if a.hasPrefix("-") {
                what = a
            } else {
                device = a
            }
        }
        guard let device, resolveDevice(device) == .this else { return 1 }
        let value: String?
        switch what {
        case "-u", "--fs-uuid": value = identity.uuid
        case "-l", "--label": value = identity.label
        case "--part-uuid": value = identity.partuuid
        default: value = nil
        }
        guard let value else { return 1 }
        if let variableName { setVariable(variableName, value) }
        return 0
    }

    // MARK: source, configfile

    func sourceFile(_ name: String, opensContext: Bool, at loc: SourceLocation) -> Flow {
        let command = opensContext ? "configfile" : "source"
        guard sourceDepth < Self.maxSourceDepth else {
            diagnostics.add(.error, "\(command) \(name): nested more than \(Self.maxSourceDepth) deep (a loop?); not read", at: loc)
            status = 1
            return .next
        }
        guard spend(loc) else { return .abort }
        guard let file = readFile(name, at: loc, purpose: command) else {
            status = 1
            return .next
        }
        sourceDepth += 1
        defer { sourceDepth -= 1 }
        if !opensContext {
            _ = run(SourceRange(file: file))
            return exhausted ? .stop : .next
        }
        // GRUB shows the new file's menu in place of this one and does not come back
        // unless the user escapes; so its menu and its default are what autoboot sees.
        let outer = context
        let inner = newContext(from: outer)
        inner.vars["config_file"] = GrubVariable(value: file.path, exported: false)
        inner.vars["config_directory"] = GrubVariable(value: Path.directory(file.path), exported: false)
        context = inner
        _ = run(SourceRange(file: file))
        context = outer
        outer.replacement = (outer.menu.count, inner)
        outer.menu.append(contentsOf: inner.menu)
        status = 0
        return .stop
    }

    // MARK: load_env

    func loadEnv(_ args: [String], at loc: SourceLocation) -> Int {
        var file: String?
        var whitelist: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            i += 1
            if a == "-f" || a == "--file" {
                if i < args.count { file = args[i]; i += 1 }
            } else if a.hasPrefix("--file=") {
                file = String(a.dropFirst(7))
            } else if a == "-s" || a == "--skip-sig" {
                continue
            } else {
                whitelist.append(a)
            }
        }
        let name = file ?? (variable("prefix") + "/grubenv")
        guard let local = localPath(name), files.info(local) != nil else {
            info("load_env: \(name) not found", at: loc)
            return 1
        }
        guard let envFile = readFile(name, at: loc, purpose: "load_env", parsed: false) else { return 1 }
        guard let pairs = GrubEnvBlock.parse(envFile.bytes) else {
            warn("load_env: \(envFile.path) is not a GRUB environment block", at: loc)
            return 1
        }
        for (key, value) in pairs where whitelist.isEmpty || whitelist.contains(key) {
            guard isVariableName(key) else { continue }
            setVariable(key, value)
        }
        return 0
    }

    // MARK: regexp

    /// `regexp [--set [N:]VAR]... REGEX STRING`, POSIX extended syntax as in GRUB.
    func regexp(_ args: [String], at loc: SourceLocation) -> Int {
        var sets: [(Int?, String)] = []
        var operands: [String] = []
        var i = 0
        func addSet(_ spec: String) {
            if let colon = spec.firstIndex(of: ":"), let n = Int(spec[..<colon]) {
                sets.append((n, String(spec[spec.index(after: colon)...])))
            } else {
                sets.append((nil, spec))
            }
        }
        while i < args.count {
            let a = args[i]
            i += 1
            if (a == "-s" || a == "--set") && i < args.count {
                addSet(args[i])
                i += 1
            } else if a.hasPrefix("--set=") {
                addSet(String(a.dropFirst(6)))
            } else {
                operands.append(a)
            }
        }
        guard operands.count == 2 else {
            warn("regexp: expected a pattern and a string", at: loc)
            return 1
        }
        var regex = regex_t()
        let compiled = regcomp(&regex, operands[0], REG_EXTENDED)
        guard compiled == 0 else {
            warn("regexp: invalid pattern '\(operands[0])'", at: loc)
            return 1
        }
        defer { regfree(&regex) }
        let groups = Int(regex.re_nsub)
        var matches = [regmatch_t](repeating: regmatch_t(), count: groups + 1)
        let utf8 = Array(operands[1].utf8)
        let matched = operands[1].withCString { regexec(&regex, $0, matches.count, &matches, 0) } == 0
        guard matched else { return 1 }
        for (number, name) in sets {
            let n = number ?? (groups >= 1 ? 1 : 0)
            guard n <= groups, matches[n].rm_so >= 0 else {
                setVariable(name, "")
                continue
            }
            let from = Int(matches[n].rm_so), to = Int(matches[n].rm_eo)
            setVariable(name, String(decoding: utf8[from..<to], as: UTF8.self))
        }
        return 0
    }
}
