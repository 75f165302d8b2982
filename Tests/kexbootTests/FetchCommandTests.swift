import Foundation
import KexbootTestSupport
import Testing

/// Issue 18 at the command line: `kexboot fetch` has a deadline and a size limit
/// (`--timeout`, `--max-size`), a failed fetch leaves no file at `-o`, and a password in
/// the URL is used but never printed.
@Suite(.serialized) struct FetchCommandTests {
    let dir: String
    let www: String

    init() throws {
        dir = try Shell.temporaryDirectory("cli-fetch")
        www = dir + "/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try String(repeating: "K", count: 100_000).write(toFile: www + "/vmlinuz", atomically: true, encoding: .utf8)
        _ = chmod(www, 0o755)
    }

    @Test func theLimitsAreOptionsWithSafeDefaults() throws {
        let help = try CLI.run(["fetch", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--timeout <seconds>"))
        #expect(help.stdout.contains("(default: 600)"))
        #expect(help.stdout.contains("--max-size <size>"))
        #expect(help.stdout.contains("(default: 1G)"))
        for bad in [["--timeout", "0"], ["--timeout", "86401"], ["--max-size", "0"], ["--max-size", "lots"]] {
            let r = try CLI.run(["fetch"] + bad + ["http://127.0.0.1:9/x", "-o", dir + "/never"])
            #expect(r.status == 2, "\(bad): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/never"))
        }
    }

    @Test func aFetchThatFailsLeavesNoFile() throws {
        let server = try TestServer.http(root: www)
        let base = "http://127.0.0.1:\(server.port)"
        let out = dir + "/kernel"
        // One byte every half second: only the deadline ends it. A file already at -o is
        // not left half-written either.
        try "an older kernel".write(toFile: out, atomically: true, encoding: .utf8)
        let trickled = try CLI.run(["fetch", "--timeout", "2", base + "/_trickle", "-o", out])
        #expect(trickled.status == 1)
        #expect(trickled.stderr.contains("timed out: not done within the 2-second limit for a fetch"), "\(trickled.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // No end to it: the size limit ends it.
        let endless = try CLI.run(["fetch", "--max-size", "64K", base + "/_endless", "-o", out])
        #expect(endless.status == 1)
        #expect(endless.stderr.contains("larger than the 65536-byte (64K) limit"), "\(endless.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // A plain failure too.
        let missing = try CLI.run(["fetch", base + "/absent", "-o", out])
        #expect(missing.status == 1)
        #expect(!FileManager.default.fileExists(atPath: out))
        // Within both limits: the file.
        let fetched = try CLI.run(["fetch", "--max-size", "100000", "--timeout", "30", base + "/vmlinuz", "-o", out])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: out)))?.count == 100_000)
        // Writing to a device is not undone by removing it.
        #expect(try CLI.run(["fetch", base + "/absent", "-o", "/dev/null"]).status == 1)
        #expect(FileManager.default.fileExists(atPath: "/dev/null"))
    }

    @Test func aPasswordInTheURLIsUsedButNeverPrinted() throws {
        let server = try TestServer.http(root: www)
        let out = dir + "/authed"
        let ok = try CLI.run(["fetch", "--verbose", "http://user:secret@127.0.0.1:\(server.port)/_auth/vmlinuz", "-o", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("http://user:***@127.0.0.1:\(server.port)/_auth/vmlinuz"))
        #expect(!ok.stdout.contains("secret"))
        let refused = try CLI.run(["fetch", "http://user:wrong-secret@127.0.0.1:\(server.port)/_auth/vmlinuz", "-o", out])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("http://user:***@127.0.0.1:\(server.port)/_auth/vmlinuz: the server answered HTTP 401"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("secret"))
    }
}
