/// Read-only access to the files of one filesystem, with paths absolute inside it.
///
/// Config parsers read files only through this seam, so tests can hand them an in-memory
/// tree and the daemon a mounted partition. Implementations never let a path (through
/// `..` or symlinks) reach outside the filesystem they stand for.
public protocol FileSource: Sendable {
    /// The whole file. Throws `KexbootError` with code `.notFound` or `.ioError`.
    /// `limit` bounds how many bytes are read; larger files throw `.limitExceeded`.
    func read(_ path: String, limit: Int) throws -> [UInt8]
    /// What is at `path`, or `nil` when nothing is.
    func info(_ path: String) -> FileInfo?
    /// The names in a directory (not `.` or `..`), or `nil` when it is not a directory.
    func list(_ directory: String) -> [String]?
}

public struct FileInfo: Hashable, Sendable {
    public enum Kind: Sendable { case file, directory, other }
    public var kind: Kind
    public var size: Int
    /// Modification time, seconds since the epoch.
    public var mtime: Int

    public init(kind: Kind, size: Int, mtime: Int = 0) {
        self.kind = kind
        self.size = size
        self.mtime = mtime
    }
}

extension FileSource {
    /// The largest config file kexboot reads (a generated grub.cfg is rarely over 1 MB).
    public static var defaultReadLimit: Int { 64 << 20 }

    public func read(_ path: String) throws -> [UInt8] {
        try read(path, limit: Self.defaultReadLimit)
    }

    /// Finds `path` with every component matched case-insensitively (FAT and ISO 9660
    /// names, `EFI/BOOT` vs `efi/boot`). Returns the path as it is spelled on disk.
    public func findCaseInsensitive(_ path: String) -> String? {
        var current = ""
        for component in Path.components(path) {
            guard let names = list(current.isEmpty ? "/" : current) else { return nil }
            let wanted = component.lowercased()
            if names.contains(component) {
                current += "/" + component
            } else if let match = names.sorted().first(where: { $0.lowercased() == wanted }) {
                current += "/" + match
            } else {
                return nil
            }
        }
        return current.isEmpty ? "/" : current
    }
}
