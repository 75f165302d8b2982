import KexbootCore

/// The loader commands: what an entry body loads becomes the boot option.
extension GrubInterpreter {
    private func requireEntry(_ name: String, at loc: SourceLocation) -> Bool {
        guard boot != nil else {
            warn("'\(name)' outside a menu entry does nothing here", at: loc)
            return false
        }
        return true
    }

    /// A loader's file as a resource, or `nil` after an error diagnostic when it is no
    /// file name GRUB can open: a device without its `)` (`(uuid`: GRUB's "missing `)'
    /// symbol") or a device with no path (`(hd0,1)`: GRUB reads the empty rest as a block
    /// list and fails with "invalid file name"). The entry is then kept with no kernel.
    func loaderFile(_ name: String, _ command: String, at loc: SourceLocation) -> Resource? {
        var problem: String?
        if name.hasPrefix("(") {
            if let close = name.firstIndex(of: ")") {
                if name[name.index(after: close)...].isEmpty { problem = "names a device but no file" }
            } else {
                problem = "has no ')' after its device name"
            }
        }
        guard let problem else { return resource(name) }
        let message = "\(command): '\(name)' \(problem)"
        diagnostics.add(.error, "\(message); the entry is kept but cannot be booted", at: loc)
        boot!.fileError = message
        return nil
    }

    func loadLinux(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
        guard argv.count >= 2 else {
            warn("\(argv[0]): no kernel given", at: loc)
            return 1
        }
        boot!.kind = .linux
        boot!.initrds = []
        boot!.modules = []
        guard let kernel = loaderFile(argv[1], argv[0], at: loc) else {
            boot!.kernel = nil
            boot!.args = ""
            return 1
        }
        boot!.fileError = nil
        boot!.kernel = kernel
        boot!.args = GrubCommandLine.build(argv.dropFirst(2))
        return 0
    }

    func loadInitrd(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
        guard boot!.fileError == nil else { return 1 }
        guard boot!.kernel != nil else {
            warn("\(argv[0]): you need to load the kernel first", at: loc)
            return 1
        }
        var initrds: [Resource] = []
        for arg in argv.dropFirst() {
            // `newc:NAME:FILE` puts FILE into the cpio archive under NAME.
            var file = Substring(arg)
            if file.hasPrefix("newc:"), let colon = file.dropFirst(5).firstIndex(of: ":") {
                file = file[file.index(after: colon)...]
            } else if file.hasPrefix("--") {
                continue
            }
            guard let initrd = loaderFile(String(file), argv[0], at: loc) else { return 1 }
            initrds.append(initrd)
        }
        guard !initrds.isEmpty else {
            warn("\(argv[0]): no file given", at: loc)
            return 1
        }
        boot!.initrds = initrds
        return 0
    }

    func loadDevicetree(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
        guard argv.count >= 2 else {
            warn("devicetree: no file given", at: loc)
            return 1
        }
        guard let devicetree = loaderFile(argv[1], argv[0], at: loc) else { return 1 }
        boot!.devicetree = devicetree
        return 0
    }

    func loadMultiboot(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
        let rest = argv.dropFirst().drop { $0.hasPrefix("--quirk") }
        guard let kernel = rest.first else {
            warn("\(argv[0]): no kernel given", at: loc)
            return 1
        }
        boot!.kind = .multiboot
        boot!.initrds = []
        boot!.modules = []
        guard let resource = loaderFile(kernel, argv[0], at: loc) else {
            boot!.kernel = nil
            boot!.args = ""
            return 1
        }
        boot!.fileError = nil
        boot!.kernel = resource
        boot!.args = GrubCommandLine.build(rest.dropFirst())
        return 0
    }

    func loadModule(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
        guard boot!.fileError == nil else { return 1 }
        guard boot!.kind == .multiboot, boot!.kernel != nil else {
            warn("\(argv[0]): you need to load the multiboot kernel first", at: loc)
            return 1
        }
        let rest = argv.dropFirst().drop { $0 == "--nounzip" || $0 == "--type" }
        guard let file = rest.first else {
            warn("\(argv[0]): no file given", at: loc)
            return 1
        }
        guard let module = loaderFile(file, argv[0], at: loc) else { return 1 }
        boot!.modules.append(BootModule(resource: module, args: GrubCommandLine.build(rest.dropFirst())))
        return 0
    }
}
