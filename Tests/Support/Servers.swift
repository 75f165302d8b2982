import Foundation

/// Real servers on loopback for network tests: python3's http.server (with TLS when
/// asked), tftpd-hpa, and a test CA made with openssl.
public final class TestServer: @unchecked Sendable {
    public let port: Int
    public let log: String
    private let pid: Int32

    /// Started with posix_spawn (Foundation's Process.waitUntilExit hangs under the test
    /// runner once a server child is around); stopped with SIGKILL.
    init(_ arguments: [String], log: String, portFromStdout: Bool, port: Int = 0) throws {
        self.log = log
        let portFile = log + ".port"
        let quoted = arguments.map { "'" + $0 + "'" }.joined(separator: " ")
        self.pid = try Self.spawn("exec \(quoted) > '\(portFile)' 2> '\(log)' < /dev/null")
        guard portFromStdout else {
            self.port = port
            return
        }
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), text.hasSuffix("\n"),
               let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                self.port = p
                return
            }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        throw Shell.Failure(description: "\(arguments[0]) did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    deinit { stop() }

    static func spawn(_ command: String) throws -> Int32 {
        var pid: Int32 = 0
        let words: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { word in strdup(word) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
        guard rc == 0 else { throw Shell.Failure(description: "posix_spawn: \(rc)") }
        return pid
    }

    /// SIGTERM, up to five seconds to finish, then SIGKILL (for programs that clean up).
    public func terminate() {
        kill(pid, SIGTERM)
        for _ in 0..<500 where kill(pid, 0) == 0 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleep(10_000)
        }
        stop()
    }

    public func stop() {
        kill(pid, SIGKILL)
        for _ in 0..<100 where kill(pid, 0) == 0 {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            usleep(10_000)
        }
    }

    public var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("httpd.py").path
    }

    /// python3 serving `root` (see httpd.py for the misbehaving paths).
    public static func http(root: String, tls: TestCA.Certificate? = nil, bind: String = "127.0.0.1") throws -> TestServer {
        var args = ["/usr/bin/python3", script, root, "--bind", bind]
        if let tls { args += ["--tls", tls.certificate, tls.key] }
        return try TestServer(args, log: root + "/../httpd-\(UUID().uuidString).log", portFromStdout: true)
    }

    /// A worse link in front of a local port (Tests/Support/impair.py): `mode` udp or tcp,
    /// each datagram or chunk held back `delay` ms each way, `loss` percent of datagrams
    /// dropped each way (udp).
    public static func impaired(_ mode: String, to port: Int, delay: Int, loss: Double = 0, log: String) throws -> TestServer {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("impair.py").path
        return try TestServer(["/usr/bin/python3", script, mode, "\(port)", "--delay", "\(delay)", "--loss", "\(loss)"],
                              log: log, portFromStdout: true)
    }

    /// Any long-running command (dnsmasq, a daemon in a namespace), stopped with SIGKILL.
    public static func background(_ arguments: [String], log: String) throws -> TestServer {
        try TestServer(arguments, log: log, portFromStdout: false)
    }

    /// A TFTP server on loopback whose every file never ends (Tests/Support/tftp-endless.py),
    /// sending a block every `interval` seconds once the last one is acknowledged.
    public static func endlessTFTP(interval: Double = 0, log: String) throws -> TestServer {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("tftp-endless.py").path
        return try TestServer(["/usr/bin/python3", script, "--interval", "\(interval)"], log: log, portFromStdout: true)
    }

    /// tftpd-hpa in the foreground serving `root`, logging every request (-v -v).
    public static func tftp(root: String, address: String = "127.0.0.1") throws -> TestServer {
        let port = try freeUDPPort()
        let server = try TestServer(["/usr/sbin/in.tftpd", "-L", "-v", "-v", "-u", "root", "-s", "-a", "\(address):\(port)", root],
                                    log: root + "/../tftpd-\(UUID().uuidString).log", portFromStdout: false, port: port)
        usleep(200_000)
        return server
    }

    /// vsftpd in the foreground, anonymous and read-only, serving `root` on loopback.
    public static func ftp(root: String) throws -> TestServer {
        let port = try freeTCPPort()
        let base = root + "/../vsftpd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "/var/run/vsftpd/empty", withIntermediateDirectories: true)
        try """
            listen=YES
            listen_address=127.0.0.1
            listen_port=\(port)
            background=NO
            anonymous_enable=YES
            local_enable=NO
            write_enable=NO
            anon_root=\(root)
            no_anon_password=YES
            pasv_enable=YES
            pasv_address=127.0.0.1
            secure_chroot_dir=/var/run/vsftpd/empty
            seccomp_sandbox=NO
            run_as_launching_user=YES
            xferlog_enable=NO

            """.write(toFile: base + ".conf", atomically: true, encoding: .utf8)
        let server = try TestServer(["/usr/sbin/vsftpd", base + ".conf"], log: base + ".log", portFromStdout: false, port: port)
        usleep(300_000)
        return server
    }

    static func freeTCPPort() throws -> Int {
        let output = try Shell.run("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'")
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    static func freeUDPPort() throws -> Int {
        let output = try Shell.run("python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'")
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines))!
    }
}

/// A certificate authority made for one test run with openssl.
public struct TestCA {
    public struct Certificate {
        public var certificate: String
        public var key: String
    }

    public let directory: String
    /// The CA's own certificate (what a client trusts).
    public var certificate: String { directory + "/ca.crt" }

    public init(in directory: String, name: String = "kexboot test CA") throws {
        self.directory = directory
        try Shell.run("cd '\(directory)' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=\(name)' -keyout ca.key -out ca.crt 2>&1")
    }

    /// A server certificate for `host` (a DNS name or an IP address), signed by this CA.
    public func issue(for host: String, name: String) throws -> Certificate {
        let isIP = host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        let san = isIP ? "IP:\(host)" : "DNS:\(host)"
        try Shell.run("""
            cd '\(directory)' && openssl req -newkey rsa:2048 -nodes -subj '/CN=\(host)' -keyout \(name).key -out \(name).csr 2>&1 && \
            printf 'subjectAltName=\(san)\\n' > \(name).ext && \
            openssl x509 -req -in \(name).csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile \(name).ext -out \(name).crt 2>&1
            """)
        return Certificate(certificate: "\(directory)/\(name).crt", key: "\(directory)/\(name).key")
    }
}
