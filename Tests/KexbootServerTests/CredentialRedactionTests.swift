import Foundation
import KexbootClient
import KexbootCore
import KexbootTestSupport
import Testing

/// Issue 18: root adds `http://user:secret@host/…`; the daemon fetches with the password
/// (the server refuses without it) but no client, restricted or root, ever sees it: not
/// in `status` events, `option-added`, `list`, error messages or the log.
@Suite(.serialized) struct CredentialRedactionTests {
    /// A python3 client run as `nobody` (restricted access): it subscribes, writes every
    /// line it gets to `out`, and once `stop` exists asks for `list`, writes the answer
    /// and "DONE".
    static let subscriber = """
        import json, os, select, socket, sys
        sock, out, stop = sys.argv[1:4]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        f = s.makefile("rwb")
        log = open(out, "w")
        def line():
            text = f.readline().decode()
            log.write(text); log.flush()
            return text
        line()
        f.write(b'{"id":1,"request":"subscribe"}\\n'); f.flush()
        while '"id":1' not in line(): pass
        log.write("SUBSCRIBED\\n"); log.flush()
        while not os.path.exists(stop):
            r, _, _ = select.select([s], [], [], 0.2)
            if r: line()
        f.write(b'{"id":2,"request":"list"}\\n'); f.flush()
        while '"id":2' not in line(): pass
        log.write("DONE\\n"); log.flush()
        """

    @Test func aRestrictedClientNeverSeesThePasswordOfAURLRootAdded() throws {
        let dir = try Shell.temporaryDirectory("redact")
        try Shell.run("chmod 755 \(dir)")
        let www = dir + "/www"
        try FileManager.default.createDirectory(atPath: www + "/pxelinux.cfg", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: www + "/images", withIntermediateDirectories: true)
        try String(repeating: "K", count: 200_000).write(toFile: www + "/images/vmlinuz", atomically: true, encoding: .utf8)
        let server = try TestServer.http(root: www)
        let origin = "http://user:secret@127.0.0.1:\(server.port)"
        let shown = "http://user:***@127.0.0.1:\(server.port)"
        // The kernel is behind the same password (`/_auth/` answers 401 without it); the
        // arguments name a URL with one too.
        try """
            DEFAULT secure
            LABEL secure
              KERNEL ../images/vmlinuz
              APPEND console=ttyS0 inst.repo=\(origin)/_auth/repo
            """.write(toFile: www + "/pxelinux.cfg/secure", atomically: true, encoding: .utf8)
        _ = chmod(www, 0o755)

        let hash = try Shell.run("openssl passwd -6 -salt redacttest 'open sesame'").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\nsocket-group = 65534\npassword = \(hash)\n", autoboot: false)
        defer { daemon.stop() }
        try Self.subscriber.write(toFile: dir + "/subscriber.py", atomically: true, encoding: .utf8)
        let out = dir + "/nobody.out", stop = dir + "/stop"
        // nobody may write its transcript here and nowhere else in `dir`.
        try "".write(toFile: out, atomically: true, encoding: .utf8)
        _ = chmod(out, 0o666)
        let nobody = try TestServer.background(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                                                dir + "/subscriber.py", daemon.socket, out, stop], log: dir + "/nobody.log")
        defer { nobody.stop() }
        func transcript() -> String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
        func waitFor(_ text: String) throws {
            let deadline = Date().addingTimeInterval(30)
            while !transcript().contains(text) {
                guard Date() < deadline else { throw Shell.Failure(description: "nobody never got \(text): \(transcript())") }
                usleep(50_000)
            }
        }
        try waitFor("SUBSCRIBED")

        let root = try daemon.client()
        let added = try root.call("add-url", [("url", .string(origin + "/_auth/pxelinux.cfg/secure"))])
        #expect(added["options"] == .int(1))
        #expect(added["url"] == .string(shown + "/_auth/pxelinux.cfg/secure"))
        // A URL that fails: its error message (reply, log, event) hides the password too.
        #expect { try root.call("add-url", [("url", .string(origin + "/_auth/missing.cfg"))]) } throws: { error in
            let message = (error as? Client.Failure)?.message ?? ""
            return message.contains("HTTP 404") && message.contains(shown) && !message.contains("secret")
        }
        // Root's own list shows it hidden as well.
        let list = try root.call("list")
        let option = try #require(list["options"]?.arrayValue?.first)
        #expect(option["kernel"]?["url"] == .string(shown + "/_auth/images/vmlinuz"))
        #expect(list["devices"]?.arrayValue?.first?["config"] == .string(shown + "/_auth/pxelinux.cfg/secure"))
        #expect(!list.serialized().contains("secret"))

        // Booting fetches the kernel with the password (dry run: the plan comes back).
        let boot = try root.call("boot", [("option", option["id"]!)])
        #expect(boot["plan"]?["kernel"]?["size"]?.intValue == 200_000)
        // The menu's edit form sends back what it was shown: the password is put back.
        let edited = try root.call("boot", [
            ("kernel", option["kernel"]!["url"]!), ("args", option["args"]!), ("title", .string("edited")),
        ])
        #expect(edited["plan"]?["kernel"]?["size"]?.intValue == 200_000)
        #expect(edited["plan"]?["cmdline"] == .string("console=ttyS0 inst.repo=\(shown)/_auth/repo"))
        // Only for the server it belongs to.
        #expect { try root.call("boot", [("kernel", .string("http://user:***@localhost:\(server.port)/_auth/images/vmlinuz"))]) } throws: {
            ($0 as? Client.Failure)?.message.contains("HTTP 401") == true
        }
        #expect(server.logText.components(separatedBy: "GET /_auth/images/vmlinuz").count - 1 >= 3)

        try "".write(toFile: stop, atomically: true, encoding: .utf8)
        try waitFor("DONE")
        let seen = transcript()
        #expect(!seen.contains("secret"))
        // It saw everything else: the device and option, the failure, the progress of
        // both boots, and the list.
        #expect(seen.contains(#""event":"option-added""#))
        #expect(seen.contains(#""config":"\#(shown)/_auth/pxelinux.cfg/secure""#))
        #expect(seen.contains("\(shown)/_auth/missing.cfg: not found (HTTP 404)"))
        #expect(seen.contains("fetching \(shown)/_auth/images/vmlinuz"))
        #expect(seen.contains(#""title":"edited""#))
        #expect(seen.contains("inst.repo=\(shown)/_auth/repo"))
        // The log, as root reads it.
        let log = try root.call("log", [("lines", .int(1000))])
        #expect(!log.serialized().contains("secret"))
        #expect(log.serialized().contains(shown))
    }
}
