import KexbootCore
@testable import KexbootConfig

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
