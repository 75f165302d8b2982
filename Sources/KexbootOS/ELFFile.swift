import KexbootCore

/// An ELF file's headers, program segments and notes: what booting it needs.
///
/// Every offset and size is checked against the file before it is used; a hostile or
/// truncated file is an `ELFFile.Error`, never a crash or an out-of-range read.
public struct ELFFile: Hashable, Sendable {
    public enum Endian: String, Sendable { case little, big }

    public struct Segment: Hashable, Sendable {
        public var type: UInt32
        public var flags: UInt32
        public var offset: UInt64
        public var vaddr: UInt64
        public var paddr: UInt64
        public var filesz: UInt64
        public var memsz: UInt64
        public var align: UInt64

        public static let load: UInt32 = 1
        public static let note: UInt32 = 4
    }

    public struct Note: Hashable, Sendable {
        public var name: String
        public var type: UInt32
        public var desc: [UInt8]
        /// The IEEE 1275 "PowerPC" note (type 0x1275), decoded.
        public var ppc1275: PPC1275Note?
    }

    /// The six cells of the IEEE 1275 PowerPC binding's ELF note: how the firmware must be
    /// set up for the client. -1 means "don't care".
    public struct PPC1275Note: Hashable, Sendable {
        public var realMode: Int32
        public var realBase: Int32
        public var realSize: Int32
        public var virtBase: Int32
        public var virtSize: Int32
        public var loadBase: Int32
    }

    public struct Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    public var elfClass: Int
    public var endian: Endian
    public var machine: UInt16
    public var type: UInt16
    public var entry: UInt64
    public var flags: UInt32
    public var segments: [Segment]
    public var notes: [Note]

    public static let magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]

    /// Reads an ELF image through `read(offset, count)`, where the whole image is `size`
    /// bytes long (a file, or a PReP partition read raw).
    public init(size: UInt64, read: (UInt64, Int) throws -> [UInt8]) throws {
        guard size >= 16 else { throw Error("not an ELF file: \(size) bytes is too short") }
        let ident = try read(0, 16)
        guard ident.count == 16, Array(ident[0..<4]) == Self.magic else { throw Error("not an ELF file: bad magic") }
        switch ident[4] {
        case 1: elfClass = 32
        case 2: elfClass = 64
        default: throw Error("bad ELF class \(ident[4])")
        }
        switch ident[5] {
        case 1: endian = .little
        case 2: endian = .big
        default: throw Error("bad ELF data encoding \(ident[5])")
        }
        let headerSize = elfClass == 64 ? 64 : 52
        guard size >= UInt64(headerSize) else { throw Error("truncated ELF header (\(size) of \(headerSize) bytes)") }
        let h = Reader(bytes: try read(0, headerSize), endian: endian)
        type = try h.u16(16)
        machine = try h.u16(18)
        let phoff: UInt64, phentsize: Int, phnum: Int
        if elfClass == 64 {
            entry = try h.u64(24)
            phoff = try h.u64(32)
            flags = try h.u32(48)
            phentsize = Int(try h.u16(54))
            phnum = Int(try h.u16(56))
        } else {
            entry = UInt64(try h.u32(24))
            phoff = UInt64(try h.u32(28))
            flags = try h.u32(36)
            phentsize = Int(try h.u16(42))
            phnum = Int(try h.u16(44))
        }
        segments = []
        notes = []
        guard phnum > 0 else { return }
        let minimum = elfClass == 64 ? 56 : 32
        guard phentsize >= minimum, phentsize <= 4096 else { throw Error("bad program header size \(phentsize)") }
        let (tableSize, o1) = UInt64(phentsize).multipliedReportingOverflow(by: UInt64(phnum))
        let (tableEnd, o2) = phoff.addingReportingOverflow(tableSize)
        guard !o1, !o2, tableEnd <= size else {
            throw Error("program headers (\(phnum) at offset \(phoff)) run past the end of the file (\(size) bytes)")
        }
        let table = Reader(bytes: try read(phoff, Int(tableSize)), endian: endian)
        for i in 0..<phnum {
            let at = i * phentsize
            var s: Segment
            if elfClass == 64 {
                s = Segment(type: try table.u32(at), flags: try table.u32(at + 4), offset: try table.u64(at + 8),
                            vaddr: try table.u64(at + 16), paddr: try table.u64(at + 24), filesz: try table.u64(at + 32),
                            memsz: try table.u64(at + 40), align: try table.u64(at + 48))
            } else {
                s = Segment(type: try table.u32(at), flags: try table.u32(at + 24), offset: UInt64(try table.u32(at + 4)),
                            vaddr: UInt64(try table.u32(at + 8)), paddr: UInt64(try table.u32(at + 12)),
                            filesz: UInt64(try table.u32(at + 16)), memsz: UInt64(try table.u32(at + 20)),
                            align: UInt64(try table.u32(at + 28)))
            }
            let (end, overflow) = s.offset.addingReportingOverflow(s.filesz)
            guard !overflow, end <= size else {
                throw Error("segment \(i) (offset \(s.offset), \(s.filesz) bytes) runs past the end of the file (\(size) bytes)")
            }
            if s.type == Segment.load && s.memsz < s.filesz {
                throw Error("segment \(i) has a memory size (\(s.memsz)) smaller than its file size (\(s.filesz))")
            }
            let (_, memOverflow) = s.paddr.addingReportingOverflow(s.memsz)
            if s.type == Segment.load && memOverflow {
                throw Error("segment \(i) wraps around the address space")
            }
            segments.append(s)
        }
        for s in segments where s.type == Segment.note && s.filesz > 0 {
            guard s.filesz <= 1 << 20 else { throw Error("note segment of \(s.filesz) bytes is too large") }
            notes += try Self.parseNotes(try read(s.offset, Int(s.filesz)), endian: endian)
        }
    }

    /// Notes are name/desc pairs, each padded to 4 bytes (in both ELF classes, as Linux
    /// and every toolchain write them).
    static func parseNotes(_ bytes: [UInt8], endian: Endian) throws -> [Note] {
        let r = Reader(bytes: bytes, endian: endian)
        var notes: [Note] = []
        var at = 0
        while at + 12 <= bytes.count {
            let namesz = Int(try r.u32(at)), descsz = Int(try r.u32(at + 4)), type = try r.u32(at + 8)
            let nameStart = at + 12
            let (nameEnd, o1) = nameStart.addingReportingOverflow(namesz)
            guard !o1, nameEnd <= bytes.count else { throw Error("note name runs past its segment") }
            let descStart = (nameEnd + 3) & ~3
            let (descEnd, o2) = descStart.addingReportingOverflow(descsz)
            guard !o2, descEnd <= bytes.count else { throw Error("note description runs past its segment") }
            var nameBytes = Array(bytes[nameStart..<nameEnd])
            while nameBytes.last == 0 { nameBytes.removeLast() }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let desc = Array(bytes[descStart..<descEnd])
            var note = Note(name: name, type: type, desc: desc, ppc1275: nil)
            if name == "PowerPC" && type == 0x1275 && desc.count >= 24 {
                let d = Reader(bytes: desc, endian: endian)
                note.ppc1275 = PPC1275Note(
                    realMode: Int32(bitPattern: try d.u32(0)), realBase: Int32(bitPattern: try d.u32(4)),
                    realSize: Int32(bitPattern: try d.u32(8)), virtBase: Int32(bitPattern: try d.u32(12)),
                    virtSize: Int32(bitPattern: try d.u32(16)), loadBase: Int32(bitPattern: try d.u32(20)))
            }
            notes.append(note)
            at = (descEnd + 3) & ~3
        }
        return notes
    }

    /// Reads an ELF image held in memory.
    public init(bytes: [UInt8]) throws {
        try self.init(size: UInt64(bytes.count)) { offset, count in
            guard offset <= UInt64(bytes.count) else { return [] }
            let start = Int(offset)
            return Array(bytes[start..<min(bytes.count, start + count)])
        }
    }

    // MARK: Names

    public var machineName: String? {
        switch machine {
        case 20: "ppc"
        case 21: "ppc64"
        case 62: "x86_64"
        case 183: "aarch64"
        case 243: "riscv"
        case 3: "i386"
        case 40: "arm"
        default: nil
        }
    }

    public var typeName: String {
        switch type {
        case 1: "rel"
        case 2: "exec"
        case 3: "dyn"
        case 4: "core"
        default: String(type)
        }
    }

    /// The ppc64 ELF ABI version: e_flags bits 0-1, or by byte order when they are 0
    /// (big-endian ppc64 defaults to ELFv1, little-endian to ELFv2).
    public var abi: Int? {
        guard machine == 21 else { return nil }
        let bits = Int(flags & 3)
        if bits != 0 { return bits }
        return endian == .big ? 1 : 2
    }
}

/// Bounds-checked integer reads in one byte order.
struct Reader {
    let bytes: [UInt8]
    let endian: ELFFile.Endian

    private func check(_ at: Int, _ n: Int) throws {
        guard at >= 0, at + n <= bytes.count else { throw ELFFile.Error("truncated ELF data") }
    }

    func u16(_ at: Int) throws -> UInt16 { try integer(at) }

    func u32(_ at: Int) throws -> UInt32 { try integer(at) }

    func u64(_ at: Int) throws -> UInt64 { try integer(at) }

    private func integer<T: FixedWidthInteger & UnsignedInteger>(_ at: Int) throws -> T {
        let size = MemoryLayout<T>.size
        try check(at, size)
        var v: T = 0
        for i in 0..<size {
            v = v << 8 | T(bytes[at + (endian == .little ? size - 1 - i : i)])
        }
        return v
    }
}
