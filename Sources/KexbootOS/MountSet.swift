#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import Synchronization

/// The filesystems kexboot mounted, all under one directory it owns.
///
/// Mounts are read-only, `nodev,nosuid,noexec`, and never replay a journal (`noload` for
/// ext3/4, `norecovery` for xfs, `nologreplay` for btrfs): looking at a disk must not
/// change a byte of it. Everything is unmounted when the set is released. Safe to use
/// from several threads (the daemon probes disks on its scanner's queue while it boots on
/// its work queue, and unmounts everything from the event loop before kexec).
public final class MountSet: Sendable {
    public let base: String
    private let state = Mutex<(points: [String], counter: Int)>(([], 0))
    public var mountPoints: [String] { state.withLock { $0.points } }

    /// The filesystems kexboot mounts.
    public static let supported: Set<String> = ["ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "iso9660", "squashfs"]

    /// Creates `base` (mode 0700) if needed.
    public init(base: String) throws {
        self.base = base
        var path = ""
        for component in base.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw KexbootError(.ioError, "creating \(path): \(errnoString())")
            }
        }
    }

    deinit {
        unmountAll()
        rmdir(base)
    }

    /// Mount options to try in order, for each filesystem type.
    static func optionSets(for fstype: String) -> [String] {
        switch fstype {
        case "ext3", "ext4": ["noload"]
        case "xfs": ["norecovery"]
        case "btrfs": ["rescue=nologreplay", "nologreplay"]
        case "vfat": ["utf8", ""]
        default: [""]
        }
    }

    /// Mounts `device` read-only at a new directory under `base` and returns that directory.
    public func mountReadOnly(_ device: String, fstype: String, name: String) throws -> String {
        guard Self.supported.contains(fstype) else {
            throw KexbootError(.unsupported, "\(device): kexboot does not mount \(fstype)")
        }
        let counter = state.withLock { s -> Int in
            s.counter += 1
            return s.counter
        }
        let target = "\(base)/\(counter)-\(name.filter { $0.isLetter || $0.isNumber || $0 == "-" })"
        guard mkdir(target, 0o700) == 0 || errno == EEXIST else {
            throw KexbootError(.ioError, "creating \(target): \(errnoString())")
        }
        let flags = UInt(MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC)
        var lastError: Int32 = 0
        for options in Self.optionSets(for: fstype) {
            if mount(device, target, fstype, flags, options.isEmpty ? nil : options) == 0 {
                state.withLock { $0.points.append(target) }
                return target
            }
            lastError = errno
            // A wrong option gives EINVAL: try the next set; anything else is final.
            if lastError != EINVAL { break }
        }
        rmdir(target)
        if lastError == ENODEV {
            throw KexbootError(.unsupported, "mounting \(device): the running kernel cannot mount \(fstype)", cause: Errno(lastError))
        }
        throw KexbootError(.ioError, "mounting \(device) (\(fstype)) read-only", cause: Errno(lastError))
    }

    /// Unmounts one mount point made by this set.
    public func unmount(_ target: String) {
        let known = state.withLock { s -> Bool in
            guard let i = s.points.firstIndex(of: target) else { return false }
            s.points.remove(at: i)
            return true
        }
        guard known else { return }
        if umount2(target, 0) != 0 { umount2(target, Int32(MNT_DETACH)) }
        rmdir(target)
    }

    public func unmountAll() {
        for target in mountPoints.reversed() { unmount(target) }
    }

    /// Unmounts (lazily) whatever is mounted under `base` that this set did not mount: what
    /// a process killed with SIGKILL left behind. The loop devices under those mounts are
    /// set to autoclear, so they detach once the mounts are gone. Returns the mount points.
    /// Call it only when no other process can be using `base` (the daemon holds a lock on
    /// its run directory first).
    @discardableResult
    public func releaseStale(mountinfo: String = "/proc/self/mountinfo") -> [String] {
        guard let bytes = try? ReadOnlyFile.contents(of: mountinfo, what: "the mount table") else { return [] }
        let ours = Set(mountPoints)
        let stale = Self.mountPoints(inMountinfo: String(decoding: bytes, as: UTF8.self), under: base).filter { !ours.contains($0) }
        // Deepest first: a mount inside another goes before it.
        for target in stale.sorted(by: { $0.count > $1.count }) {
            umount2(target, Int32(MNT_DETACH))
            rmdir(target)
        }
        return stale
    }

    /// The mount points strictly under `directory` in a mountinfo table (field 5, with the
    /// kernel's octal escapes for blanks and backslashes undone).
    static func mountPoints(inMountinfo text: String, under directory: String) -> [String] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        var out: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 5 else { continue }
            let point = unescape(fields[4])
            if point.hasPrefix(prefix) && !out.contains(point) { out.append(point) }
        }
        return out
    }

    private static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let raw = Array(field.utf8)
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "\\"), i + 3 < raw.count,
               let value = UInt8(String(decoding: raw[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(raw[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
