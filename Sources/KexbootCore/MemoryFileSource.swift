/// A filesystem held in memory: config bytes that came from somewhere other than a mounted
/// partition (a fuzzer's input, a unit test's fixture). Paths are normalised; directories
/// exist implicitly, as the parents of the files.
public struct MemoryFileSource: FileSource {
    public var files: [String: [UInt8]]

    public init(_ files: [String: String]) {
        self.files = Dictionary(files.map { (Path.normalize($0.key), Array($0.value.utf8)) }, uniquingKeysWith: { $1 })
    }

    public init(bytes: [String: [UInt8]]) {
        files = Dictionary(bytes.map { (Path.normalize($0.key), $0.value) }, uniquingKeysWith: { $1 })
    }

    public func read(_ path: String, limit: Int) throws -> [UInt8] {
        guard let data = files[Path.normalize(path)] else { throw KexbootError(.notFound, "\(path): no such file") }
        guard data.count <= limit else { throw KexbootError(.limitExceeded, "\(path) is larger than \(limit) bytes") }
        return data
    }

    public func info(_ path: String) -> FileInfo? {
        let p = Path.normalize(path)
        if let data = files[p] { return FileInfo(kind: .file, size: data.count) }
        let prefix = p == "/" ? "/" : p + "/"
        return files.keys.contains { $0.hasPrefix(prefix) } ? FileInfo(kind: .directory, size: 0) : nil
    }

    public func list(_ directory: String) -> [String]? {
        let p = Path.normalize(directory)
        guard info(p)?.kind == .directory else { return nil }
        let prefix = p == "/" ? "/" : p + "/"
        var names = Set<String>()
        for key in files.keys where key.hasPrefix(prefix) {
            if let first = key.dropFirst(prefix.count).split(separator: "/").first { names.insert(String(first)) }
        }
        return names.sorted()
    }
}
