#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore

/// A Unix datagram socket: how the DHCP client's script hands a lease to the daemon
/// (one message per event, no connection, no framing).
public enum Datagram {
    /// Binds a non-blocking datagram socket at `path` (mode 0600, replacing a stale one).
    public static func listen(_ path: String) throws -> Int32 {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw KexbootError(.ioError, "socket", cause: Errno(errno)) }
        try Socket.bindUnix(fd, path, umask: 0o077)
        return fd
    }

    /// Sends one message to the socket at `path`.
    public static func send(_ bytes: [UInt8], to path: String) throws {
        var address = try Socket.unixAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KexbootError(.ioError, "socket", cause: Errno(errno)) }
        defer { close(fd) }
        let n = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard n == bytes.count else { throw KexbootError(.ioError, "sending to \(path)", cause: Errno(errno)) }
    }

    /// The next waiting message, or `nil`.
    public static func receive(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return n > 0 ? Array(buffer[..<n]) : nil
    }
}

/// Child processes the daemon runs (the DHCP client).
public enum Child {
    /// Starts `arguments` with only `environment` and a PATH (nothing of ours leaks into
    /// it), every signal unblocked and at its default; stdin from /dev/null, stdout and
    /// stderr to `log` (appended) when given.
    public static func spawn(_ arguments: [String], environment: [String: String] = [:], log: String? = nil) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let log {
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var env = environment.map { "\($0.key)=\($0.value)" }
        if environment["PATH"] == nil {
            env.append("PATH=" + (getenv("PATH").map { String(cString: $0) } ?? "/sbin:/bin:/usr/sbin:/usr/bin"))
        }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard rc == 0 else { throw KexbootError(.ioError, "starting \(arguments[0])", cause: Errno(rc)) }
        return pid
    }

    /// SIGTERM to all, then SIGKILL to those still there after a second; reaps them.
    public static func stop(_ pids: [pid_t]) {
        for pid in pids { kill(pid, SIGTERM) }
        var left = Set(pids)
        var status: Int32 = 0
        for _ in 0..<100 where !left.isEmpty {
            left = left.filter { waitpid($0, &status, WNOHANG) != $0 }
            if !left.isEmpty { usleep(10_000) }
        }
        for pid in left {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
    }

    /// True when the child has ended (and is reaped now).
    public static func ended(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        return r == pid || (r < 0 && errno == ECHILD)
    }

    /// The path of the running executable.
    public static var executable: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
