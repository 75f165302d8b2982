#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootOS
import KexbootProtocol

/// One client of the daemon. Reads and writes never block: what the client does not read
/// yet waits in `output`, and a client that lets more than `maxQueued` bytes pile up is
/// dropped rather than allowed to hold the daemon (or anyone else) back.
final class Connection {
    enum Transport: String { case unix, tcp }

    /// What a client may do. Root on the Unix socket (or a client that authenticated) has
    /// full access; others may list, boot the default and cancel autoboot; a TCP client
    /// may do nothing but authenticate until it has.
    enum Access: String { case full, restricted, none }

    /// The most output a client may leave unread: generous for clients with full
    /// access (a big `list`), small for the others, so many idle strangers cannot pile up
    /// the daemon's memory.
    var maxQueued: Int { access == .full ? 8 << 20 : 1 << 20 }

    let id: Int
    let fd: Int32
    let transport: Transport
    let peer: PeerCredentials?
    /// Who failed authentications are counted against: the uid, or the TCP peer's address.
    let throttleKey: String
    var access: Access
    var subscribed = false
    var closed = false
    /// Close once `output` is written (after an oversized line).
    var closeAfterFlush = false
    /// Lines read but not handled yet (while the connection is paused).
    var pendingLines: [[UInt8]] = []
    /// Set after a failed authentication: nothing more is read or handled until the
    /// answer goes out a second later, so guesses cannot be pipelined.
    var paused = false
    var failedAuthentications = 0
    /// The peer has shut down its side for writing; answers still due are sent first.
    var readClosed = false
    /// A line longer than the limit arrived after `pendingLines`.
    var oversized = false
    /// Requests read whose response has not been sent (every line gets exactly one).
    var inFlight = 0
    private var framer = LineFramer()
    private var output: [UInt8] = []
    private var written = 0

    init(id: Int, fd: Int32, transport: Transport, peer: PeerCredentials?, access: Access, throttleKey: String) {
        self.id = id
        self.fd = fd
        self.transport = transport
        self.peer = peer
        self.access = access
        self.throttleKey = throttleKey
    }

    var name: String {
        switch transport {
        case .unix: "client \(id) (uid \(peer.map { String($0.uid) } ?? "?"), pid \(peer.map { String($0.pid) } ?? "?"))"
        case .tcp: "client \(id) (tcp)"
        }
    }

    var wantsWrite: Bool { written < output.count }
    var queued: Int { output.count - written }

    /// Reads what is there into `pendingLines`. Returns false when the peer will send no
    /// more (end of file, or the connection failed).
    func readAvailable() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Bounded, so one chatty client cannot starve the others within a poll round.
        for _ in 0..<16 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                for frame in framer.feed(buffer[0..<n]) {
                    switch frame {
                    case .line(let line): if !line.isEmpty { pendingLines.append(line) }
                    case .oversized: oversized = true
                    }
                }
                if framer.failed { return false }
                continue
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return true }
            return false
        }
        return true
    }

    /// The poll events the connection is registered for (0: not registered).
    var watched: Int16 = 0

    /// Queues one message. Returns false when the client has fallen too far behind.
    func send(_ message: JSONValue) -> Bool {
        send(line: message.serialized(compact: true))
    }

    /// Queues one message already serialized (one line, without its newline).
    func send(line: String) -> Bool {
        guard !closed else { return false }
        output.append(contentsOf: line.utf8)
        output.append(0x0a)
        if queued > maxQueued { return false }
        return flush()
    }

    /// Writes what the socket takes now. Returns false when the peer has gone.
    @discardableResult
    func flush() -> Bool {
        while written < output.count {
            let n = output.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + written, raw.count - written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                written += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            return false
        }
        if written == output.count {
            output.removeAll(keepingCapacity: output.count < 1 << 16)
            written = 0
        } else if written > 1 << 20 {
            output.removeFirst(written)
            written = 0
        }
        return true
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}
