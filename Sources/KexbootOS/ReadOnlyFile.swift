#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KexbootCore

/// A file or block device opened read-only for positioned reads (`pread`). Block devices
/// report their size through `BLKGETSIZE64`'s sysfs twin, so both work the same.
public final class ReadOnlyFile {
    public let path: String
    public let fd: Int32
    public let size: UInt64

    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: a FIFO planted where a file should be must not hang the opener
        // (it is refused below); regular files and block devices ignore the flag.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw KexbootError(.notFound, "\(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw KexbootError(.ioError, "\(path): \(message)")
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFBLK else {
            close(fd)
            throw KexbootError(.invalidArgument, "\(path): not a regular file or a block device")
        }
        self.fd = fd
        if (st.st_mode & S_IFMT) == S_IFBLK {
            // lseek to the end gives a block device's size without an ioctl.
            let end = lseek(fd, 0, SEEK_END)
            size = end > 0 ? UInt64(end) : 0
        } else {
            size = UInt64(st.st_size)
        }
    }

    deinit { close(fd) }

    /// A whole file, read to its end (sysfs files report no useful size); `what` names it
    /// in errors. Empty files are an error.
    public static func contents(of path: String, what: String) throws -> [UInt8] {
        let file = try ReadOnlyFile(path: path)
        // read(2) to the end: procfs files report size 0, sysfs ones 4096.
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(file.fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw KexbootError(.ioError, "\(what) \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            out += buffer[..<n]
            guard out.count <= 1 << 30 else { throw KexbootError(.limitExceeded, "\(what) \(path) is larger than 1 GiB") }
        }
        guard !out.isEmpty else { throw KexbootError(.invalidArgument, "\(what) \(path) is empty") }
        return out
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count > 0, offset < size else { return [] }
        let wanted = Int(min(UInt64(count), size - offset))
        var buffer = [UInt8](repeating: 0, count: wanted)
        var filled = 0
        while filled < wanted {
            let n = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, wanted - filled, off_t(offset) + off_t(filled))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw KexbootError(.ioError, "\(path): read at \(offset): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            filled += n
        }
        if filled < wanted { buffer.removeLast(wanted - filled) }
        return buffer
    }
}
