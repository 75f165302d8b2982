#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootCore
import KexbootDevices
import KexbootNet
import KexbootOS

/// Gets a boot option ready to kexec: copies its files from their filesystems into tmpfs
/// (checking that they exist, fit, and match any SHA-256 the config pins) and makes the
/// plan. Runs on the work queue; every mount it makes is released before it returns.
public struct EntryBooter: Sendable {
    /// What to boot, with where its files are.
    public struct Request: Sendable {
        public var title: String
        public var kernel: Resource
        public var initrds: [Resource]
        public var devicetree: Resource?
        public var args: String
        public var checksums: [String: String]
        /// GRUB loopback devices the files may be on.
        public var loopbacks: [String: Resource] = [:]
        /// An Open Firmware client in the device's PReP partition, started through the shim.
        public var shim = false
        /// The device the option's config came from (`nil` for an explicit boot).
        public var device: ServerDevice?

        public init(title: String, kernel: Resource, initrds: [Resource], devicetree: Resource?, args: String,
                    checksums: [String: String] = [:], device: ServerDevice?) {
            self.title = title
            self.kernel = kernel
            self.initrds = initrds
            self.devicetree = devicetree
            self.args = args
            self.checksums = checksums
            self.device = device
        }

        public init(_ option: ServerOption, device: ServerDevice) throws {
            let o = option.option
            if o.kind == .elf {
                // A PReP payload, or a client ELF a config names: through the shim.
                guard let kernel = o.kernel ?? (device.prep != nil ? .file(device: nil, path: "/") : nil) else {
                    throw KexbootError(.invalidArgument, "\(o.title) names no client")
                }
                self.init(title: o.title, kernel: kernel, initrds: [], devicetree: nil, args: o.args, checksums: o.checksums, device: device)
                shim = true
                return
            }
            guard o.kind == .linux else {
                throw KexbootError(.unsupported, "\(o.kind.rawValue) entries cannot be booted yet")
            }
            guard let kernel = o.kernel else {
                // A config entry kept with an error (a GRUB file name that does not parse):
                // the parser's diagnostic, logged for the device, says what is wrong.
                throw KexbootError(.invalidArgument, "\(o.title) names no kernel file that can be read: see its config's errors")
            }
            self.init(title: o.title, kernel: kernel, initrds: o.initrds, devicetree: o.devicetree, args: o.args,
                      checksums: o.checksums, device: device)
            loopbacks = o.loopbacks
        }
    }

    let mounts: MountSet
    let stage: String
    /// Told how a copy is going: the file, bytes so far, its size, bytes per second.
    /// Called at most about four times a second per file, and once at its end.
    public typealias Progress = @Sendable (_ file: String, _ bytes: UInt64, _ total: UInt64, _ rate: UInt64) -> Void

    /// Set when the daemon stops: a fetch or a copy in progress ends with an error.
    let stopping: StopFlag

    /// Where sysfs and the Open Firmware device tree are (for yaboot's `of:` devices).
    let sysfs: String
    let deviceTree: String

    public init(mounts: MountSet, stage: String, stopping: StopFlag = StopFlag(), sysfs: String = "/sys",
                deviceTree: String = "/proc/device-tree") {
        self.mounts = mounts
        self.stage = stage
        self.stopping = stopping
        self.sysfs = sysfs
        self.deviceTree = deviceTree
    }

    static var stopped: KexbootError { KexbootError(.ioError, "cancelled: the daemon is stopping") }

    func device(for resource: Resource, request: Request, devices: [ServerDevice]) throws -> ServerDevice? {
        switch resource {
        case .url:
            return nil
        case .file(nil, _):
            return request.device
        case .file(let identity?, _) where identity.hasPrefix("grub:"):
            // A GRUB `loopback` device: the image file it was made from, read in place.
            guard let image = request.loopbacks[String(identity.dropFirst(5))], case .file(let imageDevice, let isoPath) = image else {
                throw KexbootError(.notFound, "GRUB device (\(identity.dropFirst(5))) is not known to kexboot")
            }
            // An image on another loopback device (or on itself) would be an image inside
            // an image: never followed, so no chain of devices can loop.
            guard !(imageDevice?.hasPrefix("grub:") ?? false) else {
                throw KexbootError(.unsupported, "\(isoPath): an image inside a loopback image is not read")
            }
            guard let host = try device(for: image, request: request, devices: devices) else {
                throw KexbootError(.notFound, "GRUB device (\(identity.dropFirst(5))) is not known to kexboot")
            }
            guard host.isoPath == nil, host.fstype != "iso9660" else {
                throw KexbootError(.unsupported, "\(isoPath): an image inside an image is not read")
            }
            guard host.directory == nil else {
                throw KexbootError(.unsupported, "\(isoPath): loopback images are read from disks, not from configs added by URL")
            }
            var iso = host
            iso.id = "\(host.id):\(isoPath)"
            iso.isoPath = image.device == nil ? host.root + isoPath : isoPath
            iso.hostFstype = host.fstype
            iso.fstype = "iso9660"
            return iso
        case .file(let identity?, _) where identity.hasPrefix("partition:"):
            return try partitionDevice(String(identity.dropFirst(10)), request: request, devices: devices)
        case .file(let identity?, _) where identity.hasPrefix("of:"):
            return try openFirmwareDevice(String(identity.dropFirst(3)), request: request, devices: devices)
        case .file(let identity?, _):
            guard let d = devices.first(where: { $0.matches(identity) }) else {
                throw KexbootError(.notFound, "no filesystem \(identity) was found")
            }
            return d
        }
    }

    /// Copies `resource` to `stage/name` and returns that path. A file with no device in an
    /// explicit request is a path on the daemon's own filesystem.
    func fetch(_ resource: Resource, as name: String, request: Request, devices: [ServerDevice], fetcher: Fetcher,
               progress: Progress?) throws -> String {
        if case .url(let url) = resource {
            return try download(url, as: name, request: request, fetcher: fetcher, progress: progress)
        }
        let path = resource.path ?? "/"
        let fs = try device(for: resource, request: request, devices: devices)
        var mountPoint: String?
        defer { if let mountPoint { mounts.unmount(mountPoint) } }
        // What to copy: a file on the host, or a range of an ISO image.
        let source: (path: String, offset: UInt64, size: UInt64)
        if let fs, let directory = fs.directory {
            let files = DirectoryFileSource(root: directory)
            guard let info = files.info(path), info.kind == .file, let h = files.hostPath(path) else {
                throw KexbootError(.notFound, "\(path) is missing in \(directory)")
            }
            source = (h, 0, UInt64(info.size))
        } else if let fs, fs.fstype == "iso9660" {
            // Read from the image in place: a CD, a hybrid ISO written to a stick, or an
            // .iso file on a filesystem (mounted read-only while it is read).
            var image = fs.node
            if let isoPath = fs.isoPath {
                guard let hostType = fs.hostFstype else { throw KexbootError(.notFound, "\(fs.id): its filesystem type is unknown") }
                let point = try mounts.mountReadOnly(fs.node, fstype: hostType, name: Path.basename(fs.node))
                mountPoint = point
                let hostFiles = DirectoryFileSource(root: point)
                guard hostFiles.info(isoPath)?.kind == .file, let h = hostFiles.hostPath(isoPath) else {
                    throw KexbootError(.notFound, "\(isoPath) is missing on \(fs.node)")
                }
                image = h
            }
            let iso = try ISO9660(file: ReadOnlyFile(path: image))
            guard let extent = iso.extent(path) else { throw KexbootError(.notFound, "\(path) is missing in \(fs.id)") }
            source = (image, extent.offset, extent.size)
        } else if let fs {
            guard let fstype = fs.fstype else { throw KexbootError(.notFound, "\(fs.node) has no filesystem") }
            let point = try mounts.mountReadOnly(fs.node, fstype: fstype, name: Path.basename(fs.node))
            mountPoint = point
            // Files on the config's own filesystem are relative to the config's root (a
            // btrfs subvolume, say); files named by UUID or label to the top of theirs.
            let files = DirectoryFileSource(root: resource.device == nil ? point + fs.root : point)
            guard let info = files.info(path), info.kind == .file, let h = files.hostPath(path) else {
                throw KexbootError(.notFound, "\(path) is missing on \(fs.id)")
            }
            source = (h, 0, UInt64(info.size))
        } else {
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                throw KexbootError(.notFound, "\(path) is missing")
            }
            source = (path, 0, UInt64(st.st_size))
        }
        let size = Int64(source.size)
        var space = statvfs()
        if statvfs(stage, &space) == 0 {
            let free = Int64(space.f_bavail) * Int64(space.f_frsize)
            guard size + (1 << 20) < free else {
                throw KexbootError(.limitExceeded, "\(path) (\(size) bytes) does not fit in \(stage) (\(free) bytes free)")
            }
        }
        let target = stage + "/" + name
        let started = monotonicSeconds()
        var reported = started
        let total = source.size
        try copyFile(source.path, offset: source.offset, count: source.size, to: target) { [stopping] copied in
            if stopping.isSet { throw Self.stopped }
            guard let progress else { return }
            let now = monotonicSeconds()
            guard copied == total || now - reported >= 0.25 else { return }
            reported = now
            progress(resource.description, copied, total, UInt64(Double(copied) / max(now - started, 0.001)))
        }
        try verify(target, named: resource.checksumKey, request: request)
        return target
    }

    func verify(_ target: String, named name: String, request: Request) throws {
        guard let expected = request.checksums[name] else { return }
        let actual = try sha256(of: target)
        guard actual == expected.lowercased() else {
            throw KexbootError(.invalidArgument, "\(name) has SHA-256 \(actual), not the \(expected) the config pins")
        }
    }

    /// Streams a network file into the stage (never whole into memory); it may use what
    /// tmpfs has free, less a MiB.
    ///
    /// A URL may pin its own checksum in a fragment, `…/vmlinuz#sha256=HEX`: servers never
    /// see fragments (so iPXE and pxelinux configs written this way still work elsewhere),
    /// and the file is refused unless it matches.
    func download(_ named: String, as name: String, request: Request, fetcher: Fetcher, progress: Progress?) throws -> String {
        var url = named
        var pinned: String?
        if let hash = named.lastIndex(of: "#") {
            let fragment = named[named.index(after: hash)...]
            url = String(named[..<hash])
            if fragment.lowercased().hasPrefix("sha256=") {
                let hex = fragment.dropFirst(7).lowercased()
                guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
                    throw KexbootError(.invalidArgument, "\(named): sha256= takes 64 hex digits")
                }
                pinned = hex
            }
        }
        var fetcher = fetcher
        var space = statvfs()
        var cappedByStage = false
        if statvfs(stage, &space) == 0 {
            let free = Int64(space.f_bavail) * Int64(space.f_frsize) - (1 << 20)
            guard free > 0 else { throw KexbootError(.limitExceeded, "\(stage) has no room for \(URLText.redactingCredentials(url))") }
            cappedByStage = free < fetcher.settings.maxSize
            fetcher.settings.maxSize = min(fetcher.settings.maxSize, free)
        }
        let target = stage + "/" + name
        let started = monotonicSeconds()
        var reported = 0.0
        do {
            try fetcher.fetch(url, to: target) { [stopping] bytes, total in
                if stopping.isSet { return false }
                guard let progress else { return true }
                let now = monotonicSeconds()
                guard now - reported >= 0.25 || (total != nil && Int64(bytes) == total) else { return true }
                reported = now
                progress(url, UInt64(bytes), UInt64(total ?? 0), UInt64(Double(bytes) / max(now - started, 0.001)))
                return true
            }
        } catch _ as KexbootError where stopping.isSet {
            throw Self.stopped
        } catch let error as KexbootError where error.code == .limitExceeded && cappedByStage {
            throw KexbootError(.limitExceeded, "\(error.message) (what \(stage) has free)")
        }
        try verify(target, named: named, request: request)
        if let pinned {
            let actual = try sha256(of: target)
            guard actual == pinned else {
                throw KexbootError(.invalidArgument, "\(url) has SHA-256 \(actual), not the \(pinned) its URL pins")
            }
        }
        return target
    }

    /// Fetches every file and makes the plan.
    public func prepare(_ request: Request, devices: [ServerDevice], fetcher: Fetcher = Fetcher(),
                        syscall: Kexec.Syscall = .auto, progress: Progress? = nil) throws -> BootPlan {
        _ = mkdir(stage, 0o700)
        let kernel = try fetch(request.kernel, as: "kernel", request: request, devices: devices, fetcher: fetcher, progress: progress)
        var initrds: [String] = []
        for (i, initrd) in request.initrds.enumerated() {
            initrds.append(try fetch(initrd, as: "initrd-\(i)", request: request, devices: devices, fetcher: fetcher, progress: progress))
        }
        let dtb = try request.devicetree.map {
            try fetch($0, as: "dtb", request: request, devices: devices, fetcher: fetcher, progress: progress)
        }
        return try Kexec.plan(kernel: kernel, initrds: initrds, devicetree: dtb, commandLine: request.args, syscall: syscall)
    }

    /// Removes what a daemon that died left staged (at start, before anything is fetched).
    public func removeStaged() { clean() }

    /// Removes the fetched files (after a dry run, or a boot that failed).
    public func clean() {
        for name in ["kernel", "dtb"] { unlink(stage + "/" + name) }
        var i = 0
        while unlink(stage + "/initrd-\(i)") == 0 { i += 1 }
    }

    func sha256(of path: String) throws -> String {
        let file = try ReadOnlyFile(path: path)
        var hash = SHA256()
        var offset: UInt64 = 0
        while offset < file.size {
            let chunk = try file.read(at: offset, count: 1 << 20)
            guard !chunk.isEmpty else { break }
            hash.update(chunk)
            offset += UInt64(chunk.count)
        }
        return hash.finalize()
    }

    /// Copies `count` bytes from `offset` of `source` (a file, or an ISO image's extent).
    func copyFile(_ source: String, offset: UInt64, count: UInt64, to target: String, progress: ((UInt64) throws -> Void)? = nil) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw KexbootError(.ioError, "opening \(source)", cause: Errno(errno)) }
        defer { close(input) }
        guard lseek(input, off_t(offset), SEEK_SET) == off_t(offset) else {
            throw KexbootError(.ioError, "seeking in \(source)", cause: Errno(errno))
        }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw KexbootError(.ioError, "creating \(target)", cause: Errno(errno)) }
        defer { close(output) }
        try copyAll(from: input, to: output, count: count, what: "\(source) to \(target)", progress: progress)
    }
}

extension Resource {
    /// Reads the form a client gives: `(uuid:…)/boot/vmlinuz`, a URL, or a plain path
    /// (on the device of the option being edited, or the daemon's own filesystem).
    public init(parsing text: String) {
        if text.contains("://") {
            self = .url(text)
        } else if text.hasPrefix("("), let close = text.firstIndex(of: ")") {
            let device = String(text[text.index(after: text.startIndex)..<close])
            var path = String(text[text.index(after: close)...])
            if !path.hasPrefix("/") { path = "/" + path }
            self = .file(device: device.isEmpty ? nil : device, path: path)
        } else {
            self = .file(device: nil, path: text)
        }
    }
}
