import Testing
@testable import KexbootDevices

/// GPTCheck on headers an attacker writes: every field is the disk's to choose, the header
/// CRC included, so sizes and counts must be bounded before any arithmetic.
struct GPTCheckTests {
    /// A 512-byte GPT header at `lba` with a valid header CRC.
    static func header(lba: UInt64, entriesLBA: UInt64, count: UInt32, size: UInt32, entriesCRC: UInt32 = 0) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 512)
        func put32(_ v: UInt32, _ at: Int) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        func put64(_ v: UInt64, _ at: Int) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        b.replaceSubrange(0..<8, with: Array("EFI PART".utf8))
        put32(0x0001_0000, 8)
        put32(92, 12)
        put64(lba, 24)
        put64(entriesLBA, 72)
        put32(count, 80)
        put32(size, 84)
        put32(entriesCRC, 88)
        put32(CRC32.checksum(Array(b[0..<92])), 16)
        return b
    }

    /// A disk of `sectors` sectors that holds `header` at LBA 1 and zeros elsewhere.
    static func reader(_ header: [UInt8], sectors: UInt64) -> (UInt64, Int) throws -> [UInt8] {
        { offset, length in
            guard offset < sectors * 512 else { return [] }
            let n = Int(min(UInt64(length), sectors * 512 - offset))
            return offset == 512 ? Array(header.prefix(n)) : [UInt8](repeating: 0, count: n)
        }
    }

    @Test func hugeEntryCountAndSizeAreACorruptTableNotATrap() {
        let h = Self.header(lba: 1, entriesLBA: 2, count: 0xFFFF_FFFF, size: 0xFFFF_FFFF)
        let read = Self.reader(h, sectors: 2048)
        let parsed = GPTCheck.header(at: 1, read: read)
        #expect(parsed?.headerValid == true)
        #expect(GPTCheck.entriesValid(parsed!, read: read) == false)
        #expect(GPTCheck.problems(sectors: 2048, read: read).contains { $0.contains("primary GPT partition entries are corrupt") })
    }

    @Test func extremeEntryLBAsAndTinyDisksAreErrors() {
        for lba: UInt64 in [UInt64.max, UInt64.max / 512, UInt64.max / 512 - 1] {
            let h = Self.header(lba: 1, entriesLBA: lba, count: 128, size: 128)
            let read = Self.reader(h, sectors: 2048)
            #expect(GPTCheck.entriesValid(GPTCheck.header(at: 1, read: read)!, read: read) == false)
        }
        for sectors: UInt64 in [0, 1, 2] {
            _ = GPTCheck.problems(sectors: sectors, read: Self.reader(Self.header(lba: 1, entriesLBA: 2, count: 1, size: 128), sectors: sectors))
        }
    }

    @Test func aValidTableStillPasses() {
        let entries = [UInt8](repeating: 0xA5, count: 128 * 4)
        let h = Self.header(lba: 1, entriesLBA: 2, count: 4, size: 128, entriesCRC: CRC32.checksum(entries))
        let read: (UInt64, Int) throws -> [UInt8] = { offset, length in
            if offset == 512 { return h }
            if offset == 1024 { return Array(entries.prefix(length)) }
            return [UInt8](repeating: 0, count: length)
        }
        #expect(GPTCheck.entriesValid(GPTCheck.header(at: 1, read: read)!, read: read))
    }

    /// A partition's start and size are the table's to choose (up to 2^63 sectors from
    /// libblkid): what is read of it lies inside the disk, and `start * 512` is never
    /// computed for a start past the end.
    @Test func partitionRangesAreClippedToTheDisk() {
        #expect(DiskProber.readableRange(start: 2048, size: 4096, sectors: 1 << 20) == (1 << 20, 2 << 20))
        #expect(DiskProber.readableRange(start: 2048, size: .max, sectors: 4096) == (1 << 20, 1 << 20))
        for start in [UInt64(4096), 1 << 55, UInt64(Int64.max), .max] {
            #expect(DiskProber.readableRange(start: start, size: 1, sectors: 4096) == (0, 0), "\(start)")
        }
    }
}
