import Foundation
import KexbootClient
import KexbootCore
import KexbootOS
@testable import KexbootServer
import KexbootTestSupport
import Testing

/// Starving the socket: other users and strangers cannot hold every connection, and
/// strangers cannot hold theirs for long.
@Suite(.serialized) struct ConnectionLimitTests {
    /// A python3 client run as `uid` (group 65534) that opens `count` connections, prints
    /// one JSON line saying how many got `hello` and which error codes the others got, then
    /// keeps them all open until its standard input closes.
    final class Holder {
        let process = Process()
        let input = Pipe()
        let output = Pipe()

        init(socket: String, uid: Int, count: Int) throws {
            let script = """
                import socket, sys, json
                held, hellos, refused = [], 0, []
                for _ in range(int(sys.argv[2])):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(sys.argv[1])
                    s.settimeout(30)
                    line = s.makefile("rb").readline()
                    m = json.loads(line) if line else {}
                    if m.get("type") == "hello": hellos += 1
                    else: refused.append(m.get("error", {}).get("code", "closed"))
                    held.append(s)
                print(json.dumps({"hello": hellos, "refused": refused}), flush=True)
                sys.stdin.read()
                """
            let dir = (socket as NSString).deletingLastPathComponent
            try script.write(toFile: "\(dir)/hold.py", atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(uid)", "--regid=65534", "--clear-groups", "/usr/bin/python3", "\(dir)/hold.py", socket, String(count)]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
        }

        /// The summary line: connections that got `hello`, and the codes of the refused ones.
        func summary() throws -> (hellos: Int, refused: [String]) {
            var data = Data()
            while !data.contains(0x0a) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            let line = try JSONValue.parse(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            return (line["hello"]?.intValue ?? -1, line["refused"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }

        func release() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    func unixDaemon(_ tag: String) throws -> Daemon {
        let dir = try Shell.temporaryDirectory(tag)
        try Shell.run("chmod 755 \(dir)")
        return try Daemon(dir: dir, images: [], config: "settle = 0\nsocket-group = 65534\n", autoboot: false)
    }

    @Test func oneUserCannotHoldMoreThanItsShareAndRootStillGetsIn() throws {
        let daemon = try unixDaemon("limit-peer")
        defer { daemon.stop() }
        let extra = 8
        let holder = try Holder(socket: daemon.socket, uid: 65534, count: Server.maxConnectionsPerPeer + extra)
        defer { holder.release() }
        let (hellos, refused) = try holder.summary()
        #expect(hellos == Server.maxConnectionsPerPeer)
        #expect(refused == Array(repeating: "too-many-connections", count: extra))
        // Root is not limited, and the daemon still serves the connections it let in.
        let status = try daemon.client().call("status")
        #expect(status["clients"]?.intValue == Server.maxConnectionsPerPeer + 1)
        let log = try daemon.client().call("log", [("lines", .int(50))])["lines"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(log.contains { $0.contains("refused a unix client (uid 65534): too many connections from uid 65534") })
    }

    @Test func manyUsersTogetherCannotTakeTheReserve() throws {
        let daemon = try unixDaemon("limit-reserve")
        defer { daemon.stop() }
        let shared = Server.maxConnections - Server.reservedConnections
        // Enough users, each within its own limit, to fill the shared part exactly.
        let per = Server.maxConnectionsPerPeer - 2
        var holders: [Holder] = []
        defer { for h in holders { h.release() } }
        var left = shared
        var uid = 65534
        while left > 0 {
            let n = min(per, left)
            let h = try Holder(socket: daemon.socket, uid: uid, count: n)
            holders.append(h)
            #expect(try h.summary().hellos == n)
            left -= n
            uid -= 1
        }
        // One more user is turned away with the reason…
        let late = try Holder(socket: daemon.socket, uid: uid, count: 1)
        holders.append(late)
        #expect(try late.summary().refused == ["too-many-connections"])
        // …but root has the reserve, for `status` and for a menu that stays.
        var roots: [Client] = []
        for _ in 0..<Server.reservedConnections - 1 { roots.append(try daemon.client()) }
        #expect(try daemon.client().call("status")["clients"]?.intValue == Server.maxConnections)
        #expect(try roots[0].call("status")["access"] == .string("full"))
    }

    @Test func strangersAreClosedAfterTheDeadlineAndCannotKeepATokenHolderOut() throws {
        let dir = try Shell.temporaryDirectory("limit-tcp")
        let token = "0123456789abcdef0123"
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\ntoken = \(token)\n", autoboot: false, listen: "127.0.0.1:0")
        defer { daemon.stop() }
        let port = try #require(daemon.server.tcpPort)
        var strangers: [Client] = []
        for _ in 0..<Server.maxUnauthenticated { strangers.append(try Client(.tcp(host: "127.0.0.1", port: port))) }
        // Every slot for strangers is taken: a client with the token still gets in, in
        // place of the oldest stranger.
        let operator_ = try Client(.tcp(host: "127.0.0.1", port: port))
        #expect(try operator_.call("authenticate", [("token", .string(token))])["access"] == .string("full"))
        #expect(throws: Client.Failure.self) { _ = try strangers[0].readMessage(timeout: 30) }
        // The others are closed once they have had their few seconds.
        for s in strangers.dropFirst() {
            #expect(throws: Client.Failure.self) { _ = try s.readMessage(timeout: 60) }
        }
        #expect(try daemon.client().call("status")["clients"]?.intValue == 2)
        let log = try daemon.client().call("log", [("lines", .int(100))])["lines"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(log.contains { $0.contains("did not authenticate in time") })
        #expect(log.contains { $0.contains("displaced by a newer client before it authenticated") })
    }

    @Test func anAuthenticatedIdleClientStays() throws {
        let dir = try Shell.temporaryDirectory("limit-idle")
        let token = "0123456789abcdef0123"
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\ntoken = \(token)\n", autoboot: false, listen: "127.0.0.1:0")
        defer { daemon.stop() }
        let port = try #require(daemon.server.tcpPort)
        let idle = try Client(.tcp(host: "127.0.0.1", port: port))
        #expect(try idle.call("authenticate", [("token", .string(token))])["access"] == .string("full"))
        try idle.call("subscribe")
        // A stranger connected after it is closed for not authenticating: the deadline has
        // passed for the idle client too.
        let stranger = try Client(.tcp(host: "127.0.0.1", port: port))
        #expect(throws: Client.Failure.self) { _ = try stranger.readMessage(timeout: 60) }
        // The idle client was not closed: it got the events meanwhile and still answers.
        #expect(try idle.waitForEvent("status", timeout: 5) { $0["message"]?.stringValue?.contains("did not authenticate in time") == true } != nil)
        #expect(try idle.call("status")["access"] == .string("full"))
    }
}
