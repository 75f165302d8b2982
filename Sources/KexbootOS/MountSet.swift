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
}
