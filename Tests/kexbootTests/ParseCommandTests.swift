import Foundation
import Testing

/// The command's contract: exit statuses, JSON on stdout, diagnostics on stderr.
@Suite struct ParseCommandTests {
    static func tree(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kx-cli-\(UUID().uuidString)")
        for (path, text) in files {
            let url = root.appendingPathComponent(String(path.dropFirst()))
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root.path
    }

    @Test func jsonWithDiagnosticsExitsZero() throws {
        let root = try Self.tree(["/boot/grub/grub.cfg": "set timeout=3\nfoo\nmenuentry 'A' --id a { linux /vmlinuz root=/dev/sda1; initrd /initrd; }\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["parse", root, "--json"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("{\n  \"format\": \"grub\",\n  \"config\": \"/boot/grub/grub.cfg\",\n  \"default\": 0,\n  \"timeout\": 3,"))
        #expect(r.stdout.contains("\"message\": \"unknown command 'foo'\""))
        #expect(r.stderr.isEmpty)
    }

    @Test func humanTableAndDiagnosticsOnStderr() throws {
        let root = try Self.tree(["/boot/grub/grub.cfg": "foo\nmenuentry 'A' { linux /vmlinuz quiet; }\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["parse", root])
        #expect(r.status == 0)
        #expect(r.stdout.contains("* 0  A  [A]"))
        #expect(r.stdout.contains("kernel  /vmlinuz"))
        #expect(r.stderr == "/boot/grub/grub.cfg:1:1: warning: unknown command 'foo'\n")
    }

    @Test func envUUIDAndConfigFlags() throws {
        let root = try Self.tree(["/cfg/custom.cfg": "search --fs-uuid --set=root ABC\nmenuentry \"$grub_platform $x\" { linux /k; }\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["parse", root, "--config", "cfg/custom.cfg", "--uuid", "abc", "--env", "grub_platform=ieee1275", "--env", "x=y=z", "--json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"title\": \"ieee1275 y=z\""))
        #expect(r.stdout.contains("\"device\": null"))
        #expect(r.stdout.contains("\"config\": \"/cfg/custom.cfg\""))
    }

    @Test func noConfigExitsOne() throws {
        let root = try Self.tree(["/etc/fstab": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["parse", root, "--json"])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("no boot config found"))
        let missing = try CLI.run(["parse", root, "--config", "nope.cfg"])
        #expect(missing.status == 1)
        let notDir = try CLI.run(["parse", root + "/etc/fstab"])
        #expect(notDir.status == 1)
    }

    @Test(arguments: [["parse"], ["parse", "/", "--format", "lilo"], ["parse", "/", "--env", "novalue"], ["parse", "/", "--bogus"], ["frobnicate"]])
    func badArgumentsExitTwo(arguments: [String]) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 2, "\(arguments): \(r.stderr)")
        #expect(!r.stderr.isEmpty)
    }

    @Test func helpAndVersionExitZero() throws {
        #expect(try CLI.run(["--help"]).status == 0)
        #expect(try CLI.run(["parse", "--help"]).stdout.contains("--env"))
        #expect(try CLI.run(["--version"]).status == 0)
    }

    @Test func multicallName() throws {
        let root = try Self.tree(["/grub.cfg": "menuentry m { linux /m; }\n"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let link = root + "/kexboot-parse"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CLI.binary)
        let r = try CLI.run([root, "--json"], executable: link)
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"title\": \"m\""))
    }

    @Test func symlinksCannotEscapeRoot() throws {
        let outside = try Self.tree(["/secret.cfg": "menuentry leaked { linux /leak; }\n"])
        let root = try Self.tree(["/x": ""])
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: outside)
        }
        try FileManager.default.createDirectory(atPath: root + "/boot/grub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/boot/grub/grub.cfg", withDestinationPath: outside + "/secret.cfg")
        let r = try CLI.run(["parse", root, "--json"])
        #expect(r.status == 1)
        #expect(!r.stdout.contains("leaked"))
    }
}

@Suite struct BootCommandTests {
    @Test func dryRunPrintsThePlanAndLoadsNothing() throws {
        let dir = try ParseCommandTests.tree(["/vmlinuz": "kernel", "/initrd.img": "initrd"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["boot", "--kernel", dir + "/vmlinuz", "--initrd", dir + "/initrd.img", "--args", "root=/dev/vda2 quiet", "--dry-run", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"method\": \"kexec_file_load\""))
        #expect(r.stdout.contains("\"cmdline\": \"root=/dev/vda2 quiet\""))
        #expect(r.stdout.contains("\"cmdline_length\": 21"))
        let missing = try CLI.run(["boot", "--kernel", dir + "/nope", "--dry-run"])
        #expect(missing.status == 1 && missing.stderr.contains("is missing"))
    }
}
