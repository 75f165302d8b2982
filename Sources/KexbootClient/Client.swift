#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import KexbootCore
import KexbootOS
import KexbootProtocol

/// The client side of protocol v1: connects, reads the server's hello, sends requests and
/// reads their responses; events that arrive in between are kept for `nextEvent`.
/// Blocking, for `kexboot ctl`, the menu and tests.
public final class Client {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// The protocol's error code (`unauthorized`, `not-found`, …), or `connection`.
        public var code: String
        public var message: String
        public var description: String { message }
    }

    public let fd: Int32
    public private(set) var hello: JSONValue = .null
    private var framer = LineFramer()
    private var lines: [[UInt8]] = []
    private var events: [JSONValue] = []
    /// Responses to requests sent with `start`, read while waiting for something else.
    private var responses: [JSONValue] = []
    private var nextID = 0

    /// Connects and reads the hello (waiting at most `timeout` seconds for it).
    public init(_ address: Socket.Address, timeout: Double = 10) throws {
        fd = try Socket.connect(address)
        do {
            guard let first = try readMessage(timeout: timeout) else {
                throw Failure(code: "connection", message: "\(address): no hello from the server")
            }
            // A daemon that refuses the connection (too many open) says why instead.
            if first["type"]?.stringValue == "response", let error = first["error"] {
                throw Failure(code: "connection", message: "\(address): refused: \(error["message"]?.stringValue ?? error.serialized())")
            }
            guard first["type"]?.stringValue == "hello" else {
                throw Failure(code: "connection", message: "\(address): the server did not start with hello")
            }
            guard first["protocol"]?.intValue == ProtocolV1.version else {
                throw Failure(code: "connection", message: "\(address): protocol \(first["protocol"].map { $0.serialized() } ?? "?"), this client speaks \(ProtocolV1.version)")
            }
            hello = first
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Connects, retrying for up to `waiting` seconds while the daemon is still starting
    /// (no socket yet, or nobody listening on it).
    public static func connect(_ address: Socket.Address, waiting: Double) throws -> Client {
        let deadline = monotonicSeconds() + waiting
        while true {
            do {
                return try Client(address)
            } catch {
                if monotonicSeconds() > deadline { throw error }
                usleep(100_000)
            }
        }
    }

    /// Sends a request and waits for its response; returns its `result` or throws the
    /// server's error.
    @discardableResult
    public func call(_ name: String, _ params: [(String, JSONValue)] = [], timeout: Double = 120) throws -> JSONValue {
        nextID += 1
        let id = nextID
        try sendLine(ProtocolV1.request(id: id, name, params).serialized(compact: true))
        let deadline = monotonicSeconds() + timeout
        while true {
            guard let message = try readMessage(timeout: deadline - monotonicSeconds()) else {
                throw Failure(code: "timeout", message: "no answer to \(name) within \(Int(timeout)) s")
            }
            if message["type"]?.stringValue == "event" {
                events.append(message)
                continue
            }
            guard message["type"]?.stringValue == "response" else { continue }
            guard message["id"] == .int(id) else {
                responses.append(message)
                continue
            }
            if message["ok"] == .bool(true) { return message["result"] ?? .null }
            let error = message["error"]
            throw Failure(code: error?["code"]?.stringValue ?? "failed", message: error?["message"]?.stringValue ?? "failed")
        }
    }

    /// Sends a request without waiting; its response comes from `nextMessage` (match it
    /// by the id returned).
    public func start(_ name: String, _ params: [(String, JSONValue)] = []) throws -> Int {
        nextID += 1
        try sendLine(ProtocolV1.request(id: nextID, name, params).serialized(compact: true))
        return nextID
    }

    /// Whether messages are already read and waiting (poll on `fd` will not say so).
    public var hasBuffered: Bool { !events.isEmpty || !responses.isEmpty || !lines.isEmpty }

    /// The next event or response to a `start`ed request, in the order they came.
    public func nextMessage(timeout: Double) throws -> JSONValue? {
        if !responses.isEmpty { return responses.removeFirst() }
        if !events.isEmpty { return events.removeFirst() }
        let deadline = timeout < 0 ? Double.infinity : monotonicSeconds() + timeout
        while true {
            guard let message = try readMessage(timeout: deadline - monotonicSeconds()) else { return nil }
            let type = message["type"]?.stringValue
            if type == "event" || type == "response" { return message }
        }
    }

    /// The next event (already received or arriving within `timeout`; negative waits
    /// for ever). `nil` on timeout.
    public func nextEvent(timeout: Double) throws -> JSONValue? {
        if !events.isEmpty { return events.removeFirst() }
        let deadline = timeout < 0 ? Double.infinity : monotonicSeconds() + timeout
        while true {
            guard let message = try readMessage(timeout: deadline - monotonicSeconds()) else { return nil }
            if message["type"]?.stringValue == "event" { return message }
        }
    }

    public func sendLine(_ text: String) throws {
        var bytes = Array(text.utf8)
        bytes.append(0x0a)
        try sendRaw(bytes)
    }

    public func sendRaw(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(code: "connection", message: "the server went away (\(String(cString: strerror(errno))))") }
            done += n
        }
    }

    /// One message, or `nil` when `timeout` passes first. Throws when the server closes.
    public func readMessage(timeout: Double) throws -> JSONValue? {
        let deadline = timeout.isInfinite ? Double.infinity : monotonicSeconds() + max(0, timeout)
        while lines.isEmpty {
            // Poll at least once, so a zero timeout still picks up what has arrived.
            let left = deadline.isInfinite ? -1 : max(0, deadline - monotonicSeconds())
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms: Int32 = left < 0 ? -1 : Int32(min(left * 1000, 3_600_000).rounded(.up))
            let r = poll(&p, 1, ms)
            if r < 0 && errno == EINTR { continue }
            if r == 0 {
                if deadline.isInfinite || monotonicSeconds() < deadline { continue }
                return nil
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(code: "connection", message: "the server closed the connection") }
            for frame in framer.feed(buffer[0..<n]) {
                switch frame {
                case .line(let l): lines.append(l)
                case .oversized: throw Failure(code: "connection", message: "the server sent a line over \(ProtocolV1.maxLine) bytes")
                }
            }
        }
        let line = lines.removeFirst()
        do {
            return try JSONValue.parse(line)
        } catch {
            throw Failure(code: "connection", message: "the server sent something that is not JSON: \(error)")
        }
    }
}
