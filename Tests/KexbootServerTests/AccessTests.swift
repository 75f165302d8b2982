import Foundation
import KexbootClient
import KexbootCore
import KexbootOS
@testable import KexbootServer
import KexbootTestSupport
import Testing

/// Who may do what: peer credentials on the Unix socket, a password for other users, a
/// token on TCP.
@Suite(.serialized) struct AccessTests {
    /// Runs a python3 client as `nobody` that sends each request line and prints each
    /// response line (errors as their code).
    func asNobody(_ socket: String, _ requests: [String]) throws -> [JSONValue] {
        let script = """
            import socket, sys, json
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            f = s.makefile("rwb")
            print(f.readline().decode().strip())
            for line in sys.stdin:
                f.write(line.encode()); f.flush()
                while True:
                    m = json.loads(f.readline())
                    if m.get("type") == "response":
                        print(json.dumps(m)); break
            """
        let dir = (socket as NSString).deletingLastPathComponent
        try script.write(toFile: "\(dir)/client.py", atomically: true, encoding: .utf8)
        let out = try Shell.run("setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 \(dir)/client.py \(socket)",
                                input: requests.joined(separator: "\n") + "\n")
        return try out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    @Test func aNonRootClientIsRestrictedUntilItAuthenticates() throws {
        let dir = try Shell.temporaryDirectory("access-unix")
        try Shell.run("chmod 755 \(dir)")
        let hash = try Shell.run("openssl passwd -6 -salt kexboottest 'open sesame'").trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\nsocket-group = 65534\npassword = \(hash)\n", autoboot: false)
        defer { daemon.stop() }
        #expect(try Shell.run("stat -c %a \(daemon.socket)").hasPrefix("660"))
        let replies = try asNobody(daemon.socket, [
            #"{"id":1,"request":"list"}"#,
            #"{"id":2,"request":"rescan"}"#,
            #"{"id":3,"request":"boot","params":{"kernel":"/etc/passwd"}}"#,
            #"{"id":4,"request":"config-set","params":{"key":"timeout","value":"1"}}"#,
            #"{"id":5,"request":"cancel-autoboot"}"#,
            #"{"id":6,"request":"authenticate","params":{"password":"wrong"}}"#,
            #"{"id":7,"request":"rescan"}"#,
            #"{"id":8,"request":"authenticate","params":{"password":"open sesame"}}"#,
            #"{"id":9,"request":"rescan"}"#,
        ])
        #expect(replies[0]["access"] == .string("restricted"))
        #expect(replies[0]["auth_required"] == .bool(true))
        func code(_ i: Int) -> JSONValue? { replies[i]["ok"] == .bool(true) ? .string("ok") : replies[i]["error"]?["code"] }
        #expect(code(1) == .string("ok"))
        #expect(code(2) == .string("unauthorized"))
        #expect(code(3) == .string("unauthorized"))
        #expect(code(4) == .string("unauthorized"))
        #expect(code(5) == .string("ok"))
        #expect(code(6) == .string("unauthorized"))
        #expect(code(7) == .string("unauthorized"))
        #expect(code(8) == .string("ok"))
        #expect(code(9) == .string("ok"))
        // The setting the refused client tried to change is unchanged.
        #expect(try daemon.client().call("config-get", [("key", .string("timeout"))])["timeout"] == .null)
    }

    @Test func withoutASocketGroupOtherUsersCannotConnect() throws {
        let dir = try Shell.temporaryDirectory("access-mode")
        try Shell.run("chmod 755 \(dir)")
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        #expect(try Shell.run("stat -c %a \(daemon.socket)").hasPrefix("600"))
        #expect(throws: Shell.Failure.self) { _ = try asNobody(daemon.socket, []) }
    }

    @Test func theTCPListenerRefusesEverythingButATokenFirst() throws {
        let dir = try Shell.temporaryDirectory("access-tcp")
        let token = "correct-horse-battery-staple"
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\ntoken = \(token)\n", autoboot: false, listen: "127.0.0.1:0")
        defer { daemon.stop() }
        let port = try #require(daemon.server.tcpPort)
        let c = try Client(.tcp(host: "127.0.0.1", port: port))
        #expect(c.hello["access"] == .string("none"))
        for request in ["list", "status", "subscribe", "boot", "cancel-autoboot"] {
            #expect { try c.call(request) } throws: { ($0 as? Client.Failure)?.code == "unauthorized" }
        }
        #expect { try c.call("authenticate", [("token", .string("guess"))]) } throws: { ($0 as? Client.Failure)?.code == "unauthorized" }
        #expect(try c.call("authenticate", [("token", .string(token))])["access"] == .string("full"))
        #expect(try c.call("list")["devices"] != nil)
    }

    @Test func pipelinedGuessesAreAnsweredInOrderAndFiveEndTheConnection() throws {
        let dir = try Shell.temporaryDirectory("access-guess")
        let token = "0123456789abcdef0123"
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\ntoken = \(token)\n", autoboot: false, listen: "127.0.0.1:0")
        defer { daemon.stop() }
        let port = try #require(daemon.server.tcpPort)
        let c = try Client(.tcp(host: "127.0.0.1", port: port))
        // Two wrong guesses, the right token and a request, all in one write: the right
        // token is not looked at before the wrong ones have been answered.
        var batch = ""
        for (i, t) in ["guess-one", "guess-two", token].enumerated() {
            batch += #"{"id":\#(i + 1),"request":"authenticate","params":{"token":"\#(t)"}}"# + "\n"
        }
        batch += #"{"id":4,"request":"status"}"# + "\n"
        try c.sendRaw(Array(batch.utf8))
        var answers: [(JSONValue?, JSONValue?)] = []
        for _ in 0..<4 {
            let m = try #require(try c.readMessage(timeout: 30))
            answers.append((m["id"], m["ok"] == .bool(true) ? .string("ok") : m["error"]?["code"]))
        }
        #expect(answers.map(\.0) == [.int(1), .int(2), .int(3), .int(4)])
        #expect(answers.map(\.1) == [.string("unauthorized"), .string("unauthorized"), .string("ok"), .string("ok")])

        let d = try Client(.tcp(host: "127.0.0.1", port: port))
        var guesses = ""
        for i in 1...5 { guesses += #"{"id":\#(i),"request":"authenticate","params":{"token":"nope-\#(i)"}}"# + "\n" }
        // The right token after five wrong ones comes too late.
        guesses += #"{"id":6,"request":"authenticate","params":{"token":"\#(token)"}}"# + "\n"
        guesses += #"{"id":7,"request":"status"}"# + "\n"
        try d.sendRaw(Array(guesses.utf8))
        for i in 1...5 { #expect(try d.readMessage(timeout: 30)?["id"] == .int(i)) }
        #expect(throws: Client.Failure.self) { _ = try d.readMessage(timeout: 30) }
    }

    @Test func unauthenticatedTCPClientsAreLimitedAndCountedTogether() throws {
        let dir = try Shell.temporaryDirectory("access-limit")
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\ntoken = 0123456789abcdef0123\n", autoboot: false, listen: "127.0.0.1:0")
        defer { daemon.stop() }
        let port = try #require(daemon.server.tcpPort)
        // Before authenticating, even a request that does not exist is just "unauthorized".
        let first = try Client(.tcp(host: "127.0.0.1", port: port))
        #expect { try first.call("no-such-request") } throws: { ($0 as? Client.Failure)?.code == "unauthorized" }
        var held = [first]
        for _ in 1..<Server.maxUnauthenticated { held.append(try Client(.tcp(host: "127.0.0.1", port: port))) }
        // One more stranger takes the place of the oldest; root on the Unix socket counts apart.
        held.append(try Client(.tcp(host: "127.0.0.1", port: port)))
        #expect(throws: Client.Failure.self) { _ = try held[0].readMessage(timeout: 30) }
        #expect(try daemon.client().call("status")["clients"]?.intValue == Server.maxUnauthenticated + 1)
        // Wrong guesses on two connections from the same host count against that host.
        #expect { try held[1].call("authenticate", [("token", .string("wrong-1"))]) } throws: { ($0 as? Client.Failure)?.code == "unauthorized" }
        #expect { try held[2].call("authenticate", [("token", .string("wrong-2"))]) } throws: { ($0 as? Client.Failure)?.code == "unauthorized" }
        let log = try daemon.client().call("log", [("lines", .int(20))])["lines"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(log.contains { $0.contains("authentication failed (2 from host 127.0.0.1)") })
        let late = try Client(.tcp(host: "127.0.0.1", port: port))
        #expect(try late.call("authenticate", [("token", .string("0123456789abcdef0123"))])["access"] == .string("full"))
    }

    @Test func aTCPListenerWithoutATokenIsRefused() throws {
        let dir = try Shell.temporaryDirectory("access-notoken")
        #expect(throws: KexbootError.self) { _ = try Daemon(dir: dir, images: [], autoboot: false, listen: "127.0.0.1:0") }
    }

    @Test func configSetValidatesAndPersistsKeepingComments() throws {
        let dir = try Shell.temporaryDirectory("access-config")
        let daemon = try Daemon(dir: dir, images: [], config: "# my settings\nsettle = 0\ntimeout = 7 \n", autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        #expect { try c.call("config-set", [("key", .string("timeout")), ("value", .string("soon"))]) } throws: {
            ($0 as? Client.Failure)?.code == "invalid-params"
        }
        #expect { try c.call("config-set", [("key", .string("colour")), ("value", .string("red"))]) } throws: {
            ($0 as? Client.Failure)?.code == "not-found"
        }
        let set = try c.call("config-set", [("key", .string("timeout")), ("value", .int(3))])
        #expect(set["persisted"] == .bool(true))
        #expect(set["timeout"] == .int(3))
        let order = try c.call("config-set", [("key", .string("boot-order")), ("value", .string("usb, uuid:1234, any"))])
        #expect(order["boot-order"] == .string("usb, uuid:1234, any"))
        let text = try String(contentsOfFile: "\(dir)/kexboot.conf", encoding: .utf8)
        #expect(text == "# my settings\nsettle = 0\ntimeout = 3\nboot-order = usb, uuid:1234, any\n")
        // Secrets are never shown.
        try c.call("config-set", [("key", .string("password")), ("value", .string("$6$salt$abc"))])
        #expect(try c.call("config-get")["password"] == .bool(true))
    }
}
