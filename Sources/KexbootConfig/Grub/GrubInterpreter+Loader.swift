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

    func loadLinux(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
        guard argv.count >= 2 else {
            warn("\(argv[0]): no kernel given", at: loc)
            return 1
        }
        boot!.kind = .linux
        boot!.kernel = resource(argv[1])
        boot!.args = GrubCommandLine.build(argv.dropFirst(2))
        boot!.initrds = []
        boot!.modules = []
        return 0
    }

    func loadInitrd(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
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
            initrds.append(resource(String(file)))
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
        boot!.devicetree = resource(argv[1])
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
        boot!.kernel = resource(kernel)
        boot!.args = GrubCommandLine.build(rest.dropFirst())
        boot!.initrds = []
        boot!.modules = []
        return 0
    }

    func loadModule(_ argv: [String], at loc: SourceLocation) -> Int {
        guard requireEntry(argv[0], at: loc) else { return 1 }
        guard boot!.kind == .multiboot, boot!.kernel != nil else {
            warn("\(argv[0]): you need to load the multiboot kernel first", at: loc)
            return 1
        }
        let rest = argv.dropFirst().drop { $0 == "--nounzip" || $0 == "--type" }
        guard let file = rest.first else {
            warn("\(argv[0]): no file given", at: loc)
            return 1
        }
        boot!.modules.append(BootModule(resource: resource(file), args: GrubCommandLine.build(rest.dropFirst())))
        return 0
    }
}
