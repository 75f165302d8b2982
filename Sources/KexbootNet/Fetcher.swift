#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CCurl
import KexbootCore
import KexbootOS

/// How the fetcher behaves: timeouts, retries, trust and limits. The daemon fills it from
/// kexboot.conf (`fetch-timeout`, `fetch-max-size`, `ca-file`, `insecure-hosts`, the
/// proxies); `kexboot fetch` from its options.
public struct FetchSettings: Sendable, Equatable {
    /// Seconds to establish a connection.
    public var connectTimeout = 10
    /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` seconds has stalled.
    public var lowSpeedLimit = 1
    public var lowSpeedTime = 20
    /// Seconds the whole fetch may take, every retry and the waits between them included.
    /// The stall check alone lets a server that trickles a byte now and then hold a fetch
    /// for ever, so there is always a deadline: values below 1 count as 1. The default
    /// leaves a 1 GiB initrd 1.7 MB/s, a 100 MB one 170 kB/s (TFTP over a slow link).
    public var totalTimeout = FetchSettings.defaultTimeout
    public static let defaultTimeout = 600
    public var maxRedirects = 8
    /// Further attempts after a transient failure (connection refused, timeout, 5xx, …),
    /// waiting `backoff`, 2×`backoff`, 4×… seconds between them.
    public var retries = 2
    public var backoff = 1.0
    /// The CA bundle certificates are checked against; `nil` is libcurl's default (the
    /// system bundle). libcurl takes one bundle, so a CA from the config is appended to a
    /// copy of the system bundle (`CABundle.combine`) and that copy is named here.
    public var caFile: String?
    /// Hosts whose certificates are not checked. Only ever set from the config, by name.
    public var insecureHosts: [String] = []
    /// `http://host:port` for http and ftp; `nil` means direct (the environment's
    /// `http_proxy` is never consulted: the config says what happens).
    public var proxy: String?
    /// The proxy for https; `nil` means `proxy`.
    public var httpsProxy: String?
    /// Hosts reached directly even when a proxy is set.
    public var noProxy: [String] = []
    /// The largest file accepted, in bytes: a server that sends without end (or a TFTP
    /// file that never ends) is cut off here. Kernels are tens of MB and the largest
    /// initrds (live systems) a few hundred.
    public var maxSize: Int64 = FetchSettings.defaultMaxSize
    public static let defaultMaxSize: Int64 = 1 << 30
    /// TFTP block size asked for (RFC 2348); the server may grant less. 1468 fills an
    /// Ethernet frame.
    public var tftpBlockSize = 1468

    public init() {}
}

/// What a fetch delivered.
public struct Fetched: Sendable, Equatable {
    public var url: String
    /// Where the last redirect led.
    public var effectiveURL: String
    public var bytes: Int64
    public var attempts: Int
}

/// Downloads URLs (tftp, http, https, ftp, file) with libcurl, straight into a file
/// descriptor: a 300 MB initrd never sits in the daemon's memory.
public struct Fetcher: Sendable {
    public var settings: FetchSettings
    /// Called between attempts instead of sleeping (tests make it instant).
    public var sleep: @Sendable (Double) -> Void = { seconds in
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var left = timespec()
        while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
    }

    public init(settings: FetchSettings = FetchSettings()) {
        self.settings = settings
    }

    public static let schemes = ["tftp", "http", "https", "ftp", "file"]

    /// True when `text` is a URL this fetcher reads.
    public static func isURL(_ text: String) -> Bool {
        URLText.scheme(of: text).map(schemes.contains) ?? false
    }

    /// libcurl's (and OpenSSL's) process-wide setup, done at most once; a fetch does it
    /// when needed, a caller that times fetches or wants the first one quick does it first.
    public static func prepare() {
        kx_curl_init()
    }

    /// `progress(bytes, total)` returns false to cancel (no retry follows a cancel).
    /// Writes from the start of `fd`, truncating it before each attempt. The whole fetch,
    /// retries included, ends by `settings.totalTimeout`; a retry that could not start
    /// before then is not made.
    public func fetch(_ url: String, into fd: Int32,
                      progress: ((Int64, Int64?) -> Bool)? = nil) throws -> Fetched {
        guard Self.isURL(url) else {
            throw KexbootError(.invalidArgument, "\(shown(url)): not a URL kexboot fetches (tftp, http, https, ftp, file)")
        }
        let deadline = monotonicSeconds() + Double(max(settings.totalTimeout, 1))
        var attempt = 0
        while true {
            attempt += 1
            _ = ftruncate(fd, 0)
            _ = lseek(fd, 0, SEEK_SET)
            do {
                var fetched = try once(url, fd: fd, deadline: deadline, progress: progress)
                fetched.attempts = attempt
                return fetched
            } catch let failure {
                guard failure.transient, attempt <= settings.retries else { throw failure.error }
                let wait = min(settings.backoff * Double(1 << (attempt - 1)), 30)
                // Waiting past the deadline only to give up then helps nobody.
                guard monotonicSeconds() + wait < deadline else { throw failure.error }
                sleep(wait)
            }
        }
    }

    /// Fetches into a file at `path` (created 0600, replaced if it exists). When the fetch
    /// fails, a regular file at `path` is emptied and removed: a partial kernel must not
    /// pass for one. (A device or FIFO named as `path` is left alone.)
    @discardableResult
    public func fetch(_ url: String, to path: String,
                      progress: ((Int64, Int64?) -> Bool)? = nil) throws -> Fetched {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KexbootError(.ioError, "creating \(path)", cause: Errno(errno)) }
        defer { close(fd) }
        do {
            return try fetch(url, into: fd, progress: progress)
        } catch {
            var info = stat()
            if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                // Emptied first: when `path` is a symbolic link, unlink removes only the link.
                _ = ftruncate(fd, 0)
                unlink(path)
            }
            throw error
        }
    }

    /// `url` as messages show it: without its password (`URLText.redactingCredentials`).
    func shown(_ url: String) -> String { URLText.redactingCredentials(url) }

    /// A small file (a config) in memory, at most `limit` bytes.
    public func fetchBytes(_ url: String, limit: Int = 16 << 20) throws -> [UInt8] {
        var limited = self
        limited.settings.maxSize = min(Int64(limit), settings.maxSize)
        // A config is small: a server trickling it out must not hold the queue for long.
        limited.settings.totalTimeout = min(max(settings.totalTimeout, 1), 60)
        limited.settings.lowSpeedLimit = max(limited.settings.lowSpeedLimit, 64)
        let fd = kx_fetch_memfd()
        guard fd >= 0 else { throw KexbootError(.ioError, "memfd_create", cause: Errno(errno)) }
        defer { close(fd) }
        let fetched = try limited.fetch(url, into: fd)
        var bytes = [UInt8](repeating: 0, count: Int(fetched.bytes))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            guard n > 0 else { throw KexbootError(.ioError, "reading back \(shown(url))", cause: Errno(errno)) }
            done += n
        }
        return bytes
    }

    struct FetchFailure: Error {
        var error: KexbootError
        var transient: Bool
    }

    private final class ProgressBox {
        let body: (Int64, Int64?) -> Bool
        var cancelled = false
        init(_ body: @escaping (Int64, Int64?) -> Bool) { self.body = body }
    }

    private func once(_ url: String, fd: Int32, deadline: Double, progress: ((Int64, Int64?) -> Bool)?) throws(FetchFailure) -> Fetched {
        let left = deadline - monotonicSeconds()
        guard left > 0.001 else {
            throw FetchFailure(error: overtime(url, bytes: 0), transient: false)
        }
        var request = kx_fetch_request()
        var result = kx_fetch_result()
        let host = URLParts(url)?.host.lowercased() ?? ""
        let insecure = settings.insecureHosts.contains { $0.lowercased() == host }
        let scheme = URLParts(url)?.scheme ?? ""
        let direct = scheme == "tftp" || scheme == "file"
            || settings.noProxy.contains { host == $0.lowercased() || host.hasSuffix("." + $0.lowercased()) }
        let proxy = scheme == "https" ? (settings.httpsProxy ?? settings.proxy) : settings.proxy
        let box = progress.map(ProgressBox.init)
        let code: Int32 = url.withCString { cURL in
            (settings.caFile ?? "").withCString { cCA in
                ((direct ? nil : proxy) ?? "").withCString { cProxy in
                    "kexboot/1".withCString { cAgent in
                        request.url = cURL
                        request.fd = fd
                        // libcurl derives TFTP's retransmission interval from the connect
                        // timeout (a third of it): 3 s gives 1 s, where 10 s would wait 3 s
                        // for every lost block.
                        request.connect_timeout = scheme == "tftp" ? min(settings.connectTimeout, 3) : settings.connectTimeout
                        request.low_speed_limit = settings.lowSpeedLimit
                        request.low_speed_time = settings.lowSpeedTime
                        // What is left of the whole fetch's time: libcurl ends the
                        // transfer then, whatever the server trickles (TFTP too).
                        request.total_timeout_ms = max(1, Int(left * 1000))
                        // An unchecked host's redirect could lead anywhere, unchecked too.
                        request.max_redirects = insecure ? 0 : settings.maxRedirects
                        request.ca_file = settings.caFile == nil ? nil : cCA
                        request.insecure = insecure ? 1 : 0
                        request.proxy = cProxy
                        request.max_size = settings.maxSize
                        request.tftp_blksize = settings.tftpBlockSize
                        request.user_agent = cAgent
                        if let box {
                            request.context = Unmanaged.passUnretained(box).toOpaque()
                            request.progress = { context, bytes, total in
                                let box = Unmanaged<ProgressBox>.fromOpaque(context!).takeUnretainedValue()
                                if box.body(bytes, total >= 0 ? total : nil) { return 0 }
                                box.cancelled = true
                                return 1
                            }
                        }
                        return withExtendedLifetime(box) { kx_fetch(&request, &result) }
                    }
                }
            }
        }
        let detail = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let effective = withUnsafeBytes(of: result.effective_url) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if code == KX_CURLE_OK {
            return Fetched(url: url, effectiveURL: effective.isEmpty ? url : effective, bytes: result.bytes, attempts: 1)
        }
        // libcurl reports its own time-outs (connect, stall, total) alike: the clock tells
        // whether it was the whole fetch's deadline.
        if code == KX_CURLE_OPERATION_TIMEDOUT, monotonicSeconds() >= deadline - 0.1 {
            throw FetchFailure(error: overtime(url, bytes: result.bytes), transient: false)
        }
        throw classify(url: url, code: code, response: result.response, detail: detail, result: result, cancelled: box?.cancelled ?? false)
    }

    /// The whole fetch took its `totalTimeout`: not transient (no time is left to retry).
    private func overtime(_ url: String, bytes: Int64) -> KexbootError {
        let limit = max(settings.totalTimeout, 1)
        return KexbootError(.ioError, "\(shown(url)): timed out: not done within the \(limit)-second limit for a fetch (\(bytes) bytes received)")
    }

    private func classify(url: String, code: Int32, response: Int, detail: String, result: kx_fetch_result, cancelled: Bool) -> FetchFailure {
        func fail(_ c: KexbootError.Code, _ text: String, transient: Bool = false) -> FetchFailure {
            // libcurl's own text may quote the URL (with its password) too.
            FetchFailure(error: KexbootError(c, "\(shown(url)): \(shown(text))"), transient: transient)
        }
        switch Int(code) {
        case KX_CURLE_ABORTED_BY_CALLBACK where cancelled:
            return fail(.ioError, "cancelled")
        case KX_CURLE_WRITE_ERROR where result.too_big != 0,
             KX_CURLE_FILESIZE_EXCEEDED:
            return fail(.limitExceeded, "larger than the \(settings.maxSize)-byte (\(ByteCount(settings.maxSize))) limit")
        case KX_CURLE_WRITE_ERROR where result.write_failed != 0:
            return fail(.ioError, "writing it out: \(Errno(result.write_failed))")
        case KX_CURLE_HTTP_RETURNED_ERROR:
            switch response {
            case 404, 410: return fail(.notFound, "not found (HTTP \(response))")
            case 408, 425, 429, 500...599: return fail(.ioError, "the server answered HTTP \(response)", transient: true)
            default: return fail(.ioError, "the server answered HTTP \(response)")
            }
        case KX_CURLE_TFTP_NOTFOUND, KX_CURLE_REMOTE_FILE_NOT_FOUND, KX_CURLE_FILE_COULDNT_READ_FILE:
            return fail(.notFound, "not found (\(detail))")
        case KX_CURLE_TFTP_PERM, KX_CURLE_TFTP_ILLEGAL:
            return fail(.ioError, "refused by the server (\(detail))")
        case KX_CURLE_PEER_FAILED_VERIFICATION:
            return fail(.ioError, "the server's certificate was not accepted: \(detail)")
        case KX_CURLE_SSL_CACERT_BADFILE:
            return fail(.ioError, "the CA bundle could not be read: \(detail)")
        case KX_CURLE_TOO_MANY_REDIRECTS:
            return fail(.ioError, "more than \(settings.maxRedirects) redirects (\(detail))")
        case KX_CURLE_UNSUPPORTED_PROTOCOL, KX_CURLE_URL_MALFORMAT:
            return fail(.invalidArgument, detail)
        case KX_CURLE_OPERATION_TIMEDOUT where result.bytes == 0 && response == 0:
            return fail(.unreachable, "timed out (\(detail))", transient: true)
        case KX_CURLE_OPERATION_TIMEDOUT:
            return fail(.ioError, "timed out (\(detail))", transient: true)
        case KX_CURLE_COULDNT_CONNECT, KX_CURLE_COULDNT_RESOLVE_HOST, KX_CURLE_COULDNT_RESOLVE_PROXY:
            return fail(.unreachable, detail, transient: true)
        case KX_CURLE_PARTIAL_FILE, KX_CURLE_GOT_NOTHING, KX_CURLE_SEND_ERROR,
             KX_CURLE_RECV_ERROR, KX_CURLE_SSL_CONNECT_ERROR:
            return fail(.ioError, detail, transient: true)
        default:
            return fail(.ioError, detail.isEmpty ? "transfer failed (libcurl \(code))" : detail, transient: true)
        }
    }
}

/// The parts of a URL kexboot needs: scheme, host (brackets kept off IPv6), port, path.
public struct URLParts: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var port: Int?
    /// From the first `/` after the authority, query included; "/" when empty.
    public var path: String

    public init?(_ url: String) {
        guard let scheme = URLText.scheme(of: url) else { return nil }
        self.scheme = scheme
        let rest = url.dropFirst(scheme.count + 3)
        // As libcurl reads it: the authority ends at the first "/", "?" or "#".
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        path = authorityEnd == rest.endIndex ? "/" : String(rest[authorityEnd...])
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = after.hasPrefix(":") ? Int(after.dropFirst()) : nil
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...])
        } else {
            host = String(authority)
            port = nil
        }
    }
}
