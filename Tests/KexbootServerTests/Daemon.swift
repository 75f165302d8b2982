import Foundation
import KexbootClient
import KexbootOS
import KexbootServer
import KexbootTestSupport

/// A daemon run in this process on its own thread, in dry-run mode, with real images.
final class Daemon: @unchecked Sendable {
    let dir: String
    let server: Server
    let socket: String
    private let finished = DispatchSemaphore(value: 0)

    init(dir: String, images: [String], config: String = "settle = 0\n", cmdline: String = "", autoboot: Bool = true,
         listen: String? = nil, socketMode: String? = nil, configure: (inout Server.Settings) -> Void = { _ in }) throws {
        self.dir = dir
        socket = "\(dir)/kexboot.sock"
        try config.write(toFile: "\(dir)/kexboot.conf", atomically: true, encoding: .utf8)
        try cmdline.write(toFile: "\(dir)/cmdline", atomically: true, encoding: .utf8)
        var settings = Server.Settings()
        settings.socket = socket
        settings.dryRun = true
        settings.images = images
        settings.scanDisks = false
        settings.configPath = "\(dir)/kexboot.conf"
        settings.noAutoboot = !autoboot
        settings.listen = listen
        settings.cmdline = "\(dir)/cmdline"
        settings.runDirectory = "\(dir)/run"
        settings.version = "test"
        configure(&settings)
        server = try Server(settings: settings)
        try server.start()
        let thread = Thread { [server, finished] in
            server.run()
            finished.signal()
        }
        thread.start()
    }

    func client() throws -> Client {
        try Client(.unix(socket))
    }

    /// Stops the daemon and waits until it has released everything.
    func stop() {
        server.stop()
        finished.wait()
    }

    /// Waits (up to `timeout` seconds) until `list` satisfies `condition`.
    func waitForList(timeout: Double = 30, _ condition: (JSONValue) -> Bool) throws -> JSONValue {
        let c = try client()
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let list = try c.call("list")
            if condition(list) { return list }
            if Date() > deadline { throw Shell.Failure(description: "list never matched: \(list.serialized())") }
            usleep(50_000)
        }
    }
}

import KexbootCore

extension Client {
    /// Events until one named `name` (returned), or nil after `timeout` seconds.
    func waitForEvent(_ name: String, timeout: Double = 30, where condition: (JSONValue) -> Bool = { _ in true }) throws -> JSONValue? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let e = try nextEvent(timeout: deadline.timeIntervalSinceNow) else { return nil }
            if e["event"]?.stringValue == name, let data = e["data"], condition(data) { return data }
        }
        return nil
    }
}
