import KexbootCore
import KexbootOS
import Synchronization

/// The files of an ISO 9660 image, read straight from the image file: no loop device, no
/// mount, no isofs driver, and nothing that could write. Rock Ridge names (and symlinks)
/// are used when the image has them, else Joliet's, else the plain 8.3 names without
/// their `;1` version.
///
/// Every length and block number comes from the image and is checked against it, so a
/// damaged or hostile image gives `.ioError`s, never a crash or an endless walk.
public final class ISO9660: FileSource, @unchecked Sendable {
    public static let blockSize = 2048

    struct Record: Sendable {
        var name: String
        var isDirectory: Bool
        var extent: UInt64
        var size: UInt64
        var mtime: Int
        var symlink: String?
        /// Flag 0x80: the file goes on in the next record (files of 4 GiB and more).
        var multiExtent = false
    }

    enum NameStyle { case rockRidge(skip: Int), joliet, plain }

    let file: ReadOnlyFile
    public let label: String?
    /// The volume's creation time as libblkid (and GRUB's `search --fs-uuid`) spell an
    /// ISO's UUID: `2023-10-31-15-28-01-00`.
    public let uuid: String?
    public let volumeSize: UInt64
    let root: Record
    let style: NameStyle
    /// Directories already read, by path (an ISO is read-only: they never change).
    private let directories = Mutex<[String: [Record]]>([:])

    /// True when `file` starts like an ISO 9660 image ("CD001" in block 16).
    public static func looksLikeImage(_ file: ReadOnlyFile) -> Bool {
        guard let head = try? file.read(at: 16 * 2048, count: 6), head.count == 6 else { return false }
        return Array(head[1...5]) == Array("CD001".utf8)
    }

    public init(file: ReadOnlyFile) throws {
        self.file = file
        var primary: [UInt8]?
        var joliet: [UInt8]?
        // Volume descriptors from block 16 to the terminator (type 255); at most 64.
        for block in 16..<80 {
            let d = try file.read(at: UInt64(block) * 2048, count: 2048)
            guard d.count == 2048, Array(d[1...5]) == Array("CD001".utf8) else {
                throw KexbootError(.ioError, "not an ISO 9660 image (no volume descriptor in block \(block))")
            }
            if d[0] == 255 { break }
            if d[0] == 1, primary == nil { primary = d }
            // A supplementary descriptor with a UCS-2 escape sequence is Joliet.
            if d[0] == 2, d[88] == 0x25, d[89] == 0x2F, [0x40, 0x43, 0x45].contains(d[90]) { joliet = d }
        }
        guard let pvd = primary else { throw KexbootError(.ioError, "ISO 9660 image without a primary volume descriptor") }
        guard ISO9660.le16(pvd, 128) == 2048 else {
            throw KexbootError(.unsupported, "ISO 9660 logical block size \(ISO9660.le16(pvd, 128)) (only 2048 is read)")
        }
        volumeSize = UInt64(ISO9660.le32(pvd, 80)) * 2048
        let volumeID = String(decoding: pvd[40..<72], as: UTF8.self).trimmingTrailingSpaces()
        label = volumeID.isEmpty ? nil : volumeID
        let created = pvd[813..<829]
        if created.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), created.contains(where: { $0 != 0x30 }) {
            let digits = Array(created)
            let groups = [0..<4, 4..<6, 6..<8, 8..<10, 10..<12, 12..<14, 14..<16]
            uuid = groups.map { String(decoding: digits[$0], as: UTF8.self) }.joined(separator: "-")
        } else {
            uuid = nil
        }
        guard let pvdRoot = ISO9660.parseRecord(pvd, at: 156, joliet: false) else {
            throw KexbootError(.ioError, "ISO 9660 root directory record is damaged")
        }
        // Rock Ridge: the root's "." record starts its system use area with SP.
        let rootSector = try file.read(at: pvdRoot.extent * 2048, count: 2048)
        var detected: NameStyle = .plain
        if rootSector.count >= 34 {
            let len = Int(rootSector[0])
            let nameLen = Int(rootSector[32])
            let su = 33 + nameLen + (nameLen % 2 == 0 ? 1 : 0)
            if len <= rootSector.count, su + 7 <= len, rootSector[su] == 0x53, rootSector[su + 1] == 0x50,
               rootSector[su + 4] == 0xBE, rootSector[su + 5] == 0xEF {
                detected = .rockRidge(skip: Int(rootSector[su + 6]))
            }
        }
        if case .plain = detected, let joliet, let jroot = ISO9660.parseRecord(joliet, at: 156, joliet: true) {
            detected = .joliet
            root = jroot
        } else {
            root = pvdRoot
        }
        style = detected
    }

    /// The image's extent of a file: where its bytes are in the image, and how many.
    public func extent(_ path: String) -> (offset: UInt64, size: UInt64)? {
        guard let r = try? lookup(path), !r.isDirectory, r.symlink == nil, !r.multiExtent else { return nil }
        return (r.extent * 2048, r.size)
    }

    public func read(_ path: String, limit: Int) throws -> [UInt8] {
        guard let r = try lookup(path) else { throw KexbootError(.notFound, "\(path): no such file") }
        guard !r.isDirectory else { throw KexbootError(.invalidArgument, "\(path) is a directory") }
        guard !r.multiExtent else { throw KexbootError(.unsupported, "\(path) is stored in several extents (a file of 4 GiB or more)") }
        guard r.size <= UInt64(limit) else { throw KexbootError(.limitExceeded, "\(path) is larger than \(limit) bytes") }
        let bytes = try file.read(at: r.extent * 2048, count: Int(r.size))
        guard bytes.count == Int(r.size) else { throw KexbootError(.ioError, "\(path): the image ends inside the file") }
        return bytes
    }

    public func info(_ path: String) -> FileInfo? {
        guard let r = try? lookup(path) else { return nil }
        return FileInfo(kind: r.isDirectory ? .directory : .file, size: Int(r.size), mtime: r.mtime)
    }

    public func list(_ directory: String) -> [String]? {
        guard let r = try? lookup(directory), r.isDirectory, let entries = try? records(of: r, path: directory) else { return nil }
        return entries.map(\.name)
    }

    // MARK: Lookup

    /// The record at `path` with symlinks inside the image followed (at most 16), or nil.
    func lookup(_ path: String) throws -> Record? {
        var pending = Path.components(path)
        var trail: [(String, Record)] = []
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." || name.isEmpty { continue }
            if name == ".." {
                if !trail.isEmpty { trail.removeLast() }
                continue
            }
            let (dirPath, dir) = trail.last ?? ("/", root)
            guard dir.isDirectory else { return nil }
            let entries = try records(of: dir, path: dirPath)
            let found = entries.first(where: { $0.name == name })
                ?? { if case .rockRidge = style { return nil }; return entries.first { $0.name.lowercased() == name.lowercased() } }()
            guard let found else { return nil }
            if let target = found.symlink {
                links += 1
                guard links <= 16 else { throw KexbootError(.ioError, "\(path): too many symbolic links") }
                // Absolute targets start again from the image's root.
                if target.hasPrefix("/") { trail.removeAll() }
                pending = target.split(separator: "/").map(String.init) + pending
                continue
            }
            trail.append(((dirPath == "/" ? "" : dirPath) + "/" + found.name, found))
        }
        return trail.last?.1 ?? root
    }

    func records(of dir: Record, path: String) throws -> [Record] {
        if let cached = directories.withLock({ $0[path] }) { return cached }
        guard dir.size <= 16 << 20 else { throw KexbootError(.limitExceeded, "\(path): directory of \(dir.size) bytes") }
        guard dir.extent * 2048 + dir.size <= max(volumeSize, file.size) else {
            throw KexbootError(.ioError, "\(path): directory extent lies outside the image")
        }
        let data = try file.read(at: dir.extent * 2048, count: Int(dir.size))
        var out: [Record] = []
        var at = 0
        var continuations = 0  // Rock Ridge continuation areas read for this directory
        while at < data.count {
            let len = Int(data[at])
            if len == 0 {
                // Records never cross a block: the rest of this block is padding.
                at = (at / 2048 + 1) * 2048
                continue
            }
            guard len >= 34, at + len <= data.count else {
                throw KexbootError(.ioError, "\(path): damaged directory record at byte \(at)")
            }
            let raw = Array(data[at..<(at + len)])
            at += len
            let nameLen = Int(raw[32])
            if nameLen == 1, raw[33] <= 1 { continue }  // "." and ".."
            guard var record = ISO9660.parseRecord(raw, at: 0, joliet: { if case .joliet = style { return true }; return false }()) else {
                throw KexbootError(.ioError, "\(path): damaged directory record")
            }
            if case .rockRidge(let skip) = style {
                let su = 33 + nameLen + (nameLen % 2 == 0 ? 1 : 0) + skip
                var hidden = false
                try rockRidge(Array(raw[min(su, raw.count)...]), into: &record, hidden: &hidden, budget: &continuations)
                if hidden { continue }
            }
            guard !record.name.isEmpty, !record.name.contains("/") else { continue }
            out.append(record)
        }
        directories.withLock { $0[path] = out }
        return out
    }

    /// Applies the Rock Ridge entries of one record (NM name, SL symlink, RE relocated),
    /// following CE continuation areas (at most 32 per directory).
    private func rockRidge(_ area: [UInt8], into record: inout Record, hidden: inout Bool, budget: inout Int) throws {
        var name: String?
        var link: [String]?
        var linkPart = ""
        var pendingAreas = [area]
        while !pendingAreas.isEmpty {
            let su = pendingAreas.removeFirst()
            var i = 0
            while i + 4 <= su.count {
                let sig = (su[i], su[i + 1])
                let len = Int(su[i + 2])
                guard len >= 4, i + len <= su.count else { break }
                let body = Array(su[(i + 4)..<(i + len)])
                switch sig {
                case (0x4E, 0x4D) where !body.isEmpty:  // NM
                    if body[0] & 0x06 == 0 { name = (name ?? "") + String(decoding: body[1...], as: UTF8.self) }
                case (0x53, 0x4C) where !body.isEmpty:  // SL
                    var parts = link ?? []
                    var j = 1
                    while j + 2 <= body.count {
                        let flags = body[j]
                        let clen = Int(body[j + 1])
                        guard j + 2 + clen <= body.count else { break }
                        let text = String(decoding: body[(j + 2)..<(j + 2 + clen)], as: UTF8.self)
                        if flags & 0x02 != 0 { parts.append(".") } else if flags & 0x04 != 0 { parts.append("..") }
                        else if flags & 0x08 != 0 { parts = [""] } else {
                            linkPart += text
                            if flags & 0x01 == 0 { parts.append(linkPart); linkPart = "" }
                        }
                        j += 2 + clen
                    }
                    link = parts
                case (0x52, 0x45):  // RE: a relocated directory, reached through its CL link
                    hidden = true
                case (0x43, 0x45) where body.count >= 24:  // CE
                    budget += 1
                    guard budget <= 4096, pendingAreas.count < 16 else { throw KexbootError(.ioError, "too many Rock Ridge continuation areas") }
                    let block = UInt64(ISO9660.le32(body, 0)), offset = UInt64(ISO9660.le32(body, 8))
                    let length = Int(ISO9660.le32(body, 16))
                    guard length <= 2048, offset + UInt64(length) <= 2048 else { throw KexbootError(.ioError, "damaged Rock Ridge continuation") }
                    pendingAreas.append(try file.read(at: block * 2048 + offset, count: length))
                case (0x53, 0x54):  // ST
                    i = su.count
                    continue
                default:
                    break
                }
                i += len
            }
        }
        if let name { record.name = name }
        if let link {
            // Components joined; an absolute link starts with the empty root component.
            let joined = link.joined(separator: "/")
            record.symlink = link.first == "" ? "/" + link.dropFirst().joined(separator: "/") : joined
            record.isDirectory = false
        }
    }

    static func parseRecord(_ d: [UInt8], at o: Int, joliet: Bool) -> Record? {
        guard o + 34 <= d.count else { return nil }
        let nameLen = Int(d[o + 32])
        guard o + 33 + nameLen <= d.count else { return nil }
        let rawName = Array(d[(o + 33)..<(o + 33 + nameLen)])
        var name: String
        if joliet {
            var units: [UInt16] = []
            var k = 0
            while k + 1 < rawName.count { units.append(UInt16(rawName[k]) << 8 | UInt16(rawName[k + 1])); k += 2 }
            name = String(decoding: units, as: UTF16.self)
        } else {
            name = String(decoding: rawName, as: UTF8.self)
        }
        let flags = d[o + 25]
        let isDirectory = flags & 0x02 != 0
        if !isDirectory {
            // "NAME.EXT;1" → "NAME.EXT"; "NAME.;1" → "NAME".
            if let semi = name.lastIndex(of: ";") { name = String(name[..<semi]) }
            if name.hasSuffix(".") { name.removeLast() }
        }
        return Record(name: name, isDirectory: isDirectory, extent: UInt64(le32(d, o + 2)), size: UInt64(le32(d, o + 10)),
                      mtime: recordTime(Array(d[(o + 18)..<(o + 25)])), symlink: nil, multiExtent: flags & 0x80 != 0)
    }

    /// Seconds since the epoch of a 7-byte directory record date (UTC offset applied).
    static func recordTime(_ t: [UInt8]) -> Int {
        let year = 1900 + Int(t[0]), month = Int(t[1]), day = Int(t[2])
        guard (1...12).contains(month), (1...31).contains(day) else { return 0 }
        // Days from the civil date (proleptic Gregorian).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let offset = Int(Int8(bitPattern: t[6])) * 15 * 60
        return days * 86400 + Int(t[3]) * 3600 + Int(t[4]) * 60 + Int(t[5]) - offset
    }

    static func le16(_ d: [UInt8], _ o: Int) -> Int { Int(d[o]) | Int(d[o + 1]) << 8 }
    static func le32(_ d: [UInt8], _ o: Int) -> UInt32 {
        UInt32(d[o]) | UInt32(d[o + 1]) << 8 | UInt32(d[o + 2]) << 16 | UInt32(d[o + 3]) << 24
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " || s.last == "\0" { s.removeLast() }
        return String(s)
    }
}
