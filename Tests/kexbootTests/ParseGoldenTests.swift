import Foundation
import Testing

/// `kexboot parse --json` on each realistic fixture, compared byte for byte with the
/// fixture's `expected.json` (checked by hand against its `facts.md`). Set
/// KEXBOOT_UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then review the diff.
@Suite struct ParseGoldenTests {
    static let fixtures = CLI.repoRoot.appendingPathComponent("Tests/KexbootConfigTests/Fixtures")

    static var names: [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return all.filter { FileManager.default.fileExists(atPath: fixtures.appendingPathComponent("\($0)/root").path) }.sorted()
    }

    @Test func thereAreFixtures() {
        #expect(Self.names.count >= 10)
    }

    @Test(arguments: names)
    func golden(name: String) throws {
        let dir = Self.fixtures.appendingPathComponent(name)
        let argsText = (try? String(contentsOf: dir.appendingPathComponent("args"), encoding: .utf8)) ?? ""
        let extra = argsText.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        let result = try CLI.run(["parse", dir.appendingPathComponent("root").path, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let expectedURL = dir.appendingPathComponent("expected.json")
        if ProcessInfo.processInfo.environment["KEXBOOT_UPDATE_GOLDEN"] == "1" {
            try result.stdout.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(result.stdout == expected)
    }
}
