import KexbootCore
@testable import KexbootConfig

/// An in-memory filesystem for unit tests of parsing logic.
struct MemoryFileSource: FileSource {
    var files: [String: [UInt8]]

    init(_ files: [String: String]) {
        self.files = files.mapValues { Array($0.utf8) }
    }

    init(bytes: [String: [UInt8]]) {
        files = bytes
    }

    func read(_ path: String, limit: Int) throws -> [UInt8] {
        guard let data = files[Path.normalize(path)] else { throw KexbootError(.notFound, "\(path): no such file") }
        guard data.count <= limit else { throw KexbootError(.limitExceeded, "\(path): too big") }
        return data
    }

    func info(_ path: String) -> FileInfo? {
        let p = Path.normalize(path)
        if let data = files[p] { return FileInfo(kind: .file, size: data.count) }
        let prefix = p == "/" ? "/" : p + "/"
        return files.keys.contains { $0.hasPrefix(prefix) } ? FileInfo(kind: .directory, size: 0) : nil
    }

    func list(_ directory: String) -> [String]? {
        let p = Path.normalize(directory)
        guard info(p)?.kind == .directory else { return nil }
        let prefix = p == "/" ? "/" : p + "/"
        var names = Set<String>()
        for key in files.keys where key.hasPrefix(prefix) {
            if let first = key.dropFirst(prefix.count).split(separator: "/").first { names.insert(String(first)) }
        }
        return names.sorted()
    }
}

let testPlatform = Platform(grubCPU: "x86_64", grubPlatform: "efi")

/// Parses `script` as `/boot/grub/grub.cfg` next to `files`.
func grub(_ script: String, files: [String: String] = [:], uuid: String? = nil, label: String? = nil,
          env: [(String, String)] = []) -> ParseResult {
    var all = files
    all["/boot/grub/grub.cfg"] = script
    return try! GrubConfig.parse(path: "/boot/grub/grub.cfg", files: MemoryFileSource(all),
                                 identity: DeviceIdentity(uuid: uuid, label: label), env: env, platform: testPlatform)
}

extension ParseResult {
    var titles: [String] { entries.map(\.title) }
    var kernels: [String] { entries.map { $0.kernel?.description ?? "-" } }
    var messages: [String] { diagnostics.map(\.message) }
    func has(_ severity: Diagnostic.Severity, _ fragment: String) -> Bool {
        diagnostics.contains { $0.severity == severity && $0.message.contains(fragment) }
    }
}

/// A throwaway interpreter for running bits of script and looking at variables.
func interpreter(files: [String: String] = [:], uuid: String? = nil) -> GrubInterpreter {
    GrubInterpreter(files: MemoryFileSource(files), identity: DeviceIdentity(uuid: uuid),
                    presets: GrubConfig.presets(configPath: "/boot/grub/grub.cfg", platform: testPlatform),
                    exported: ["root"])
}

extension GrubInterpreter {
    @discardableResult
    func run(_ text: String) -> GrubInterpreter {
        run(SourceRange(file: SourceFile(path: "/t.cfg", text: text)))
        return self
    }

    subscript(_ name: String) -> String { variable(name) }
}
