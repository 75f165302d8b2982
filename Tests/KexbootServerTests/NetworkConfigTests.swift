import Foundation
import KexbootClient
import KexbootCore
import KexbootTestSupport
import Testing

/// Configs and kernels over the network: real python3 http.server (plain and TLS with a
/// test CA) and tftpd-hpa on loopback, the daemon in dry-run mode fetching for real.
@Suite(.serialized) struct NetworkConfigTests {
    let dir: String
    let www: String

    init() throws {
        dir = try Shell.temporaryDirectory("daemon-net")
        www = dir + "/www"
        try FileManager.default.createDirectory(atPath: www + "/pxelinux.cfg", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: www + "/images", withIntermediateDirectories: true)
        try String(repeating: "K", count: 300_000).write(toFile: www + "/images/vmlinuz", atomically: true, encoding: .utf8)
        try String(repeating: "I", count: 1000).write(toFile: www + "/images/initrd.img", atomically: true, encoding: .utf8)
        try """
            DEFAULT install
            TIMEOUT 50
            INCLUDE pxelinux.cfg/extra
            LABEL install
              MENU LABEL Install
              KERNEL images/vmlinuz
              INITRD images/initrd.img
              APPEND auto=true
            """.write(toFile: www + "/pxelinux.cfg/default", atomically: true, encoding: .utf8)
        try "LABEL rescue\n  KERNEL ::images/vmlinuz\n  APPEND rescue\n".write(toFile: www + "/pxelinux.cfg/extra", atomically: true, encoding: .utf8)
        _ = chmod(www, 0o755)
    }

    @Test func aPxelinuxConfigOverHTTPBootsWithFetchedFiles() throws {
        let server = try TestServer.http(root: www)
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        let base = "http://127.0.0.1:\(server.port)"
        // The config is in pxelinux.cfg/: its relative names resolve against its URL's
        // directory, as for any config named by a full URL.
        let added = try c.call("add-url", [("url", .string(base + "/pxelinux.cfg/default"))])
        #expect(added["options"] == .int(2))
        let list = try c.call("list")
        let device = list["devices"]?.arrayValue?.first
        #expect(device?["type"] == .string("network"))
        #expect(device?["format"] == .string("pxelinux"))
        let kernels = (list["options"]?.arrayValue ?? []).map { $0["kernel"]?["url"]?.stringValue ?? "?" }
        #expect(kernels.contains(base + "/pxelinux.cfg/images/vmlinuz"))
        // `::` is the server root.
        #expect(kernels.contains(base + "/images/vmlinuz"))
        let rescue = try #require((list["options"]?.arrayValue ?? []).first { $0["title"] == .string("rescue") })
        let events = try daemon.client()
        _ = try events.call("subscribe")
        let boot = try c.call("boot", [("option", rescue["id"]!)])
        #expect(boot["plan"]?["kernel"]?["size"]?.intValue == 300_000)
        #expect(boot["plan"]?["cmdline"] == .string("rescue"))
        #expect(server.logText.contains("GET /images/vmlinuz"))
        let progress = try events.waitForEvent("status", timeout: 5) {
            $0["message"]?.stringValue == "fetching " + base + "/images/vmlinuz" && $0["bytes"]?.intValue == 300_000
        }
        #expect(progress?["total"]?.intValue == 300_000)
        // The install entry's files are at pxelinux.cfg/images/: not there, a clear error.
        let install = try #require((list["options"]?.arrayValue ?? []).first { $0["title"] == .string("Install") })
        #expect(list["default"] == install["id"])
        #expect { try c.call("boot", [("option", install["id"]!)]) } throws: {
            ($0 as? Client.Failure)?.message.contains("HTTP 404") == true
        }
    }

    /// Issue 18: `fetch-timeout` and `fetch-max-size` reach every fetch the daemon makes: a
    /// config that trickles in ends at the deadline, a kernel over the limit fails its boot,
    /// and neither leaves a file behind.
    @Test func theSettingsBoundEveryFetch() throws {
        let server = try TestServer.http(root: www)
        let daemon = try Daemon(dir: dir, images: [], config: "settle = 0\nfetch-timeout = 2\n", autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try c.call("config-get", [("key", .string("fetch-timeout"))])["fetch-timeout"] == .int(2))
        #expect { try c.call("add-url", [("url", .string(base + "/_trickle"))]) } throws: {
            ($0 as? Client.Failure)?.message.contains("not done within the 2-second limit for a fetch") == true
        }
        #expect(server.logText.components(separatedBy: "GET /_trickle").count - 1 == 1)
        #expect(try c.call("config-set", [("key", .string("fetch-max-size")), ("value", .string("100K"))])["fetch-max-size"] == .int(100 << 10))
        try c.call("add-url", [("url", .string(base + "/pxelinux.cfg/default"))])
        let list = try c.call("list")
        let rescue = try #require((list["options"]?.arrayValue ?? []).first { $0["title"] == .string("rescue") })
        #expect { try c.call("boot", [("option", rescue["id"]!)]) } throws: {
            ($0 as? Client.Failure)?.message.contains("larger than the 102400-byte (100K) limit") == true
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/run/boot/kernel"))
        // config-set: a new limit applies from the next fetch; none can be turned off.
        #expect(try c.call("config-set", [("key", .string("fetch-max-size")), ("value", .string("1M"))])["fetch-max-size"] == .int(1 << 20))
        #expect(try c.call("boot", [("option", rescue["id"]!)])["plan"]?["kernel"]?["size"]?.intValue == 300_000)
        #expect { try c.call("config-set", [("key", .string("fetch-timeout")), ("value", .int(0))]) } throws: {
            ($0 as? Client.Failure)?.code == "invalid-params"
        }
    }

    @Test func missingAndUntrustedConfigsFailClearly() throws {
        let ca = try TestCA(in: dir)
        let tls = try TestServer.http(root: www, tls: try ca.issue(for: "127.0.0.1", name: "srv"))
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        let url = "https://127.0.0.1:\(tls.port)/pxelinux.cfg/default"
        #expect { try c.call("add-url", [("url", .string(url))]) } throws: {
            ($0 as? Client.Failure)?.message.contains("certificate") == true
        }
        #expect(try c.call("list")["devices"]?.arrayValue?.isEmpty == true)
        // The CA file from the config makes the same server trusted.
        try c.call("config-set", [("key", .string("ca-file")), ("value", .string(ca.certificate))])
        let added = try c.call("add-url", [("url", .string(url))])
        #expect(added["options"] == .int(2))
        #expect { try c.call("add-url", [("url", .string("https://127.0.0.1:\(tls.port)/nothing.cfg"))]) } throws: {
            ($0 as? Client.Failure)?.code == "not-found"
        }
    }

    @Test func aNativeConfigOverTFTPPinsItsFiles() throws {
        let tftp = try TestServer.tftp(root: www)
        let base = "tftp://127.0.0.1:\(tftp.port)"
        let kernel = [UInt8](repeating: UInt8(ascii: "K"), count: 300_000)
        var hash = SHA256()
        hash.update(kernel)
        let good = hash.finalize()
        try """
            default good
            entry good
              kernel /images/vmlinuz
              args console=ttyS0
              sha256 /images/vmlinuz \(good)
            entry bad
              kernel /images/vmlinuz
              sha256 /images/vmlinuz \(String(repeating: "0", count: 64))
            """.write(toFile: www + "/kexboot.conf", atomically: true, encoding: .utf8)
        let daemon = try Daemon(dir: dir, images: [], autoboot: false)
        defer { daemon.stop() }
        let c = try daemon.client()
        try c.call("add-url", [("url", .string(base + "/kexboot.conf"))])
        let boot = try c.call("boot", [("option", .string("url1#0"))])
        #expect(boot["plan"]?["kernel"]?["size"]?.intValue == 300_000)
        #expect(boot["plan"]?["cmdline"] == .string("console=ttyS0"))
        #expect { try c.call("boot", [("option", .string("url1#1"))]) } throws: {
            ($0 as? Client.Failure)?.message.contains("SHA-256") == true
        }
        // A checksum in the URL's fragment: how a pxelinux or iPXE line can pin one.
        try """
            LABEL good
              KERNEL images/vmlinuz#sha256=\(good)
            LABEL bad
              KERNEL images/vmlinuz#sha256=\(String(repeating: "1", count: 64))
            """.write(toFile: www + "/pinned.cfg", atomically: true, encoding: .utf8)
        try c.call("add-url", [("url", .string(base + "/pinned.cfg"))])
        #expect(try c.call("boot", [("option", .string("url2#0"))])["plan"]?["kernel"]?["size"]?.intValue == 300_000)
        #expect { try c.call("boot", [("option", .string("url2#1"))]) } throws: {
            ($0 as? Client.Failure)?.message.contains("its URL pins") == true
        }
    }
}
