#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CKexboot
import KexbootCore

/// A disk image attached read-only to a loop device, with its partitions.
///
/// The device is set up with autoclear: the kernel detaches it once this object is gone
/// and nothing has it mounted, so an error or a signal cannot leak it. Nothing is ever
/// written through it.
public final class LoopDevice {
    /// `/dev/loopN`.
    public let path: String
    public let number: Int
    private let fd: Int32

    public init(attaching image: String) throws {
        let backing = try retryingEINTR("\(image)") { open(image, O_RDONLY | O_CLOEXEC) }
        defer { close(backing) }
        let control = try retryingEINTR("/dev/loop-control") { open("/dev/loop-control", O_RDWR | O_CLOEXEC) }
        defer { close(control) }
        // Another process may take the free device between asking and binding: retry.
        for _ in 0..<8 {
            let n = try retryingEINTR("LOOP_CTL_GET_FREE") { kx_loop_get_free(control) }
            let device = "/dev/loop\(n)"
            let loopFD = try retryingEINTR(device) { open(device, O_RDONLY | O_CLOEXEC) }
            if kx_loop_attach_readonly(loopFD, backing, image) == 0 {
                path = device
                number = Int(n)
                fd = loopFD
                return
            }
            let code = errno
            close(loopFD)
            if code != EBUSY { throw KexbootError(.ioError, "attaching \(image) to \(device)", cause: Errno(code)) }
        }
        throw KexbootError(.ioError, "attaching \(image): every free loop device was taken")
    }

    deinit {
        // Autoclear detaches as soon as the last user (this descriptor, or a mount) is gone.
        close(fd)
    }

    /// `/dev/loopNpM`, creating the kernel's partition when its partition-table parser did
    /// not (kernels built without MSDOS or EFI partition support), and waiting for the
    /// device node to appear.
    ///
    /// Returns nil, at once, when the kernel refuses the partition (it overlaps one the
    /// kernel made, or lies past the end of the disk): no node will ever appear for it.
    /// The partition rescan ran inside the attach ioctl, so sysfs already lists every
    /// partition the kernel made; a node is waited for only when sysfs has the partition.
    public func partitionNode(number part: Int, startSector: UInt64, sectors: UInt64) throws -> String? {
        let name = "loop\(number)p\(part)"
        let node = "/dev/\(name)"
        let sysfs = "/sys/block/loop\(number)/\(name)"
        if access(sysfs, F_OK) != 0 {
            // A range no disk can hold (the numbers come from the partition table): the
            // kernel would refuse it, so it is refused here, before `* 512` traps.
            guard let partno = Int32(exactly: part), let range = Self.byteRange(startSector: startSector, sectors: sectors) else { return nil }
            let r = kx_blkpg_add_partition(fd, partno, range.start, range.length)
            let code = errno
            // EBUSY is an overlap (or the number taken after all); EINVAL a range the
            // disk cannot hold. Either way sysfs is the judge.
            if r != 0 && code != EBUSY && code != EINVAL {
                throw KexbootError(.ioError, "adding partition \(part) of \(path)", cause: Errno(code))
            }
            if r != 0 && access(sysfs, F_OK) != 0 { return nil }
        }
        // devtmpfs creates the node; without it (a static /dev) make it from sysfs.
        for _ in 0..<200 {
            if access(node, F_OK) == 0 { return node }
            if let dev = SysfsDevice.devNumber(of: name) {
                if mknod(node, S_IFBLK | 0o600, dev_t(kx_makedev(dev.major, dev.minor))) == 0 || errno == EEXIST { return node }
            }
            usleep(5_000)
        }
        throw KexbootError(.ioError, "\(node) did not appear")
    }
}

extension LoopDevice {
    /// A partition's start and length in bytes, as BLKPG takes them (signed 64-bit), or nil
    /// when they do not fit: both come from a partition table on the disk, and
    /// `sector * 512` or the conversion to Int64 would trap.
    static func byteRange(startSector: UInt64, sectors: UInt64) -> (start: Int64, length: Int64)? {
        guard let start = ByteCount.ofSectors(startSector), let length = ByteCount.ofSectors(sectors),
              let s = Int64(exactly: start), let l = Int64(exactly: length), s <= Int64.max - l else { return nil }
        return (s, l)
    }
}

/// Small readers of `/sys/class/block`.
public enum SysfsDevice {
    public static func devNumber(of name: String, sysfs: String = "/sys") -> (major: UInt32, minor: UInt32)? {
        guard let text = readSmallFile("\(sysfs)/class/block/\(name)/dev") else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) else { return nil }
        return (major, minor)
    }

    /// The partition devices of a disk (`sda` → `sda1`…, `nvme0n1` → `nvme0n1p1`…), by number.
    public static func partitions(of disk: String, sysfs: String = "/sys") -> [Int: String] {
        var result: [Int: String] = [:]
        guard let dir = opendir("\(sysfs)/class/block/\(disk)") else { return result }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard name.hasPrefix(disk), let text = readSmallFile("\(sysfs)/class/block/\(disk)/\(name)/partition"),
                  let n = Int(text) else { continue }
            result[n] = name
        }
        return result
    }

    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self).trimmingBlanks()
    }
}

