/// Checks a GPT's headers and entry array the way firmware does, to report what libblkid
/// silently works around (it falls back to the backup header).
struct GPTCheck {
    struct Header {
        var currentLBA: UInt64
        var backupLBA: UInt64
        var entriesLBA: UInt64
        var entryCount: UInt32
        var entrySize: UInt32
        var entriesCRC: UInt32
        var headerValid: Bool
    }

    /// Reads and checks the header at `lba` (512-byte sectors).
    static func header(at lba: UInt64, read: (UInt64, Int) throws -> [UInt8]) -> Header? {
        guard lba < UInt64.max / 512, let bytes = try? read(lba * 512, 512), bytes.count == 512,
              Array(bytes[0..<8]) == Array("EFI PART".utf8) else { return nil }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        let size = Int(u32(12))
        var valid = false
        if size >= 92 && size <= 512 {
            var copy = Array(bytes[0..<size])
            copy[16] = 0; copy[17] = 0; copy[18] = 0; copy[19] = 0
            valid = CRC32.checksum(copy) == u32(16) && u64(24) == lba
        }
        return Header(currentLBA: u64(24), backupLBA: u64(32), entriesLBA: u64(72), entryCount: u32(80),
                      entrySize: u32(84), entriesCRC: u32(88), headerValid: valid)
    }

    /// Problems with the primary and backup GPT of a disk of `sectors` sectors.
    static func problems(sectors: UInt64, read: (UInt64, Int) throws -> [UInt8]) -> [String] {
        var problems: [String] = []
        let primary = header(at: 1, read: read)
        let backup = sectors > 1 ? header(at: sectors - 1, read: read) : nil
        let backupGood = backup.map { $0.headerValid && entriesValid($0, read: read) } ?? false
        if let primary, primary.headerValid {
            if !entriesValid(primary, read: read) {
                problems.append("the primary GPT partition entries are corrupt (bad CRC)\(backupGood ? "; the backup GPT was used" : "")")
            }
            if !backupGood { problems.append("the backup GPT header at the end of the disk is missing or corrupt") }
        } else {
            let what = primary == nil ? "missing" : "corrupt (bad CRC)"
            problems.append("the primary GPT header is \(what)\(backupGood ? "; the backup GPT at the end of the disk was used" : " and so is the backup")")
        }
        return problems
    }

    static func entriesValid(_ h: Header, read: (UInt64, Int) throws -> [UInt8]) -> Bool {
        // Bounds before arithmetic: both fields come from the disk (0xFFFFFFFF × 0xFFFFFFFF
        // overflows Int).
        guard h.entrySize >= 128, h.entrySize <= 4096, h.entryCount <= 1 << 16, h.entriesLBA < UInt64.max / 512
        else { return false }
        let length = Int(h.entryCount) * Int(h.entrySize)
        guard length > 0, length <= 1 << 20,
              let bytes = try? read(h.entriesLBA * 512, length), bytes.count == length else { return false }
        return CRC32.checksum(bytes) == h.entriesCRC
    }
}

/// CRC-32 (IEEE 802.3, reflected: zlib's), as GPT and the shim's bundle use.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
