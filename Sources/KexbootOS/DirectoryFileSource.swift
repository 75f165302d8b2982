#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KexbootCore

/// A `FileSource` over a host directory that stands for the root of one filesystem (a
/// mounted partition, or a test fixture).
///
/// Paths are resolved component by component the way the kernel would inside a chroot:
/// `..` stops at the root and absolute symlink targets restart from the root, so nothing
/// outside `root` is ever opened. Files are opened with `O_NOFOLLOW` after resolution.
public struct DirectoryFileSource: FileSource {
    public let root: String
    private static let maxSymlinks = 40

    public init(root: String) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    /// The host path that `path` names inside the root, with every symlink resolved
    /// within it; `nil` when a component is missing or the symlinks loop.
    public func hostPath(_ path: String) -> String? {
        var resolved: [String] = []
        var pending = Array(Path.components(path).reversed())
        var hops = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = host(resolved + [part])
            var st = stat()
            guard lstat(candidate, &st) == 0 else { return nil }
            if (st.st_mode & S_IFMT) == S_IFLNK {
                hops += 1
                guard hops <= Self.maxSymlinks, let target = readLink(candidate) else { return nil }
                if target.hasPrefix("/") { resolved = [] }
                for piece in target.split(separator: "/", omittingEmptySubsequences: true).reversed() {
                    pending.append(String(piece))
                }
                continue
            }
            resolved.append(part)
        }
        return host(resolved)
    }

    private func host(_ parts: [String]) -> String {
        parts.isEmpty ? root : (root == "/" ? "" : root) + "/" + parts.joined(separator: "/")
    }

    private func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func info(_ path: String) -> FileInfo? {
        guard let hp = hostPath(path) else { return nil }
        var st = stat()
        guard lstat(hp, &st) == 0 else { return nil }
        let kind: FileInfo.Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        default: kind = .other
        }
        return FileInfo(kind: kind, size: Int(st.st_size), mtime: Int(st.st_mtim.tv_sec))
    }

    public func list(_ directory: String) -> [String]? {
        guard let hp = hostPath(directory), let dir = opendir(hp) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func read(_ path: String, limit: Int) throws -> [UInt8] {
        guard let hp = hostPath(path) else {
            throw KexbootError(.notFound, "\(path): no such file")
        }
        let fd = open(hp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw KexbootError(.notFound, "\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw KexbootError(.ioError, "\(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw KexbootError(.ioError, "\(path): not a regular file")
        }
        // Read to the end rather than trusting st_size: procfs files say 0, sysfs files the
        // kernel's page size (64 KiB on ppc64el: a 2-byte `type` "is" 65536 bytes), so the
        // limit is on what is read, never on what stat says.
        var bytes = [UInt8](repeating: 0, count: st.st_size > 0 ? min(Int(st.st_size), limit) + 1 : min(4096, limit + 1))
        var filled = 0
        while true {
            if filled > limit {
                throw KexbootError(.limitExceeded, "\(path): over the \(limit)-byte limit")
            }
            if filled == bytes.count {
                bytes += [UInt8](repeating: 0, count: min(bytes.count, limit + 1 - bytes.count))
            }
            let n = bytes.withUnsafeMutableBytes { buf in
                Glibc.read(fd, buf.baseAddress! + filled, buf.count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw KexbootError(.ioError, "\(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeLast(bytes.count - filled)
        return bytes
    }
}
