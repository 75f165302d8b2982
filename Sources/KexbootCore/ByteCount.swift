/// A number of bytes as people write it in settings and options: `1073741824`, `512K`,
/// `64M`, `1G` (powers of 1024; `KiB`, `MiB`, `GiB` and a trailing `B` are read the same).
public struct ByteCount: Sendable, Hashable, CustomStringConvertible {
    public var bytes: Int64

    public init(_ bytes: Int64) {
        self.bytes = bytes
    }

    /// `nil` unless `text` is a whole number of at least 1, with at most one unit, that
    /// fits in 63 bits.
    public init?(parsing text: String) {
        var digits = Substring(text.trimmingBlanks())
        var unit = ""
        while let last = digits.last, last.isLetter {
            unit = String(last) + unit
            digits = digits.dropLast()
        }
        let shift: Int64
        switch unit.uppercased() {
        case "", "B": shift = 0
        case "K", "KB", "KIB": shift = 10
        case "M", "MB", "MIB": shift = 20
        case "G", "GB", "GIB": shift = 30
        case "T", "TB", "TIB": shift = 40
        default: return nil
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits), n >= 1,
              n <= Int64.max >> shift else { return nil }
        bytes = n << shift
    }

    /// The largest unit that divides it: `1G`, `1536M`, `1000`.
    public var description: String {
        for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] where bytes > 0 && bytes % (Int64(1) << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)"
    }
}

extension ByteCount {
    /// `sectors` 512-byte sectors in bytes, or nil when that does not fit in 64 bits.
    /// Sector numbers and counts come from partition tables on the disk: every product
    /// with 512 goes through here rather than trapping.
    public static func ofSectors(_ sectors: UInt64) -> UInt64? {
        let (bytes, overflow) = sectors.multipliedReportingOverflow(by: 512)
        return overflow ? nil : bytes
    }
}
