import KexbootCore
import Synchronization

/// A `FileSource` over one server: path `/a/b` is `origin/a/b` (`tftp://10.0.2.2`,
/// `http://host:8080`). Configs read through it fetch on first use and are kept, so a
/// parser's `info` then `read` costs one transfer; a file that is not there is remembered
/// as such. Listing directories is not something TFTP or HTTP can do: `list` is `nil`.
public final class URLFileSource: FileSource {
    public let origin: String
    let fetcher: Fetcher
    let cache = Mutex<[String: Result<[UInt8], KexbootError>]>([:])
    /// What one config (with everything it includes) may fetch in all, and in how many files.
    public static let budget = 32 << 20
    public static let maxFiles = 256

    public init(origin: String, fetcher: Fetcher) {
        var o = origin
        while o.hasSuffix("/") { o.removeLast() }
        self.origin = o
        self.fetcher = fetcher
    }

    /// The URL a path stands for.
    public func url(_ path: String) -> String { origin + Path.normalize(path) }

    /// The URLs fetched so far (or tried), in no particular order.
    public var fetched: [String] { cache.withLock { Array($0.keys) } }

    func load(_ path: String, limit: Int) -> Result<[UInt8], KexbootError> {
        let url = url(path)
        if let known = cache.withLock({ $0[url] }) { return known }
        let (used, files) = cache.withLock { c in
            (c.values.reduce(0) { $0 + ((try? $1.get())?.count ?? 0) }, c.count)
        }
        guard files < Self.maxFiles, used < Self.budget else {
            return .failure(KexbootError(.limitExceeded, "\(url): the config and its includes already fetched \(files) files, \(used) bytes; no more"))
        }
        let result: Result<[UInt8], KexbootError>
        do {
            result = .success(try fetcher.fetchBytes(url, limit: min(limit, Self.budget - used)))
        } catch let error as KexbootError {
            result = .failure(error)
        } catch {
            result = .failure(KexbootError(.ioError, "\(url): \(error)"))
        }
        cache.withLock { $0[url] = result }
        return result
    }

    public func read(_ path: String, limit: Int) throws -> [UInt8] {
        try load(path, limit: min(limit, 16 << 20)).get()
    }

    public func info(_ path: String) -> FileInfo? {
        guard case .success(let bytes) = load(path, limit: 16 << 20) else { return nil }
        return FileInfo(kind: .file, size: bytes.count)
    }

    public func list(_ directory: String) -> [String]? { nil }
}
