/// RPM's version comparison (what GRUB's blscfg and `rpm -q` order by): versions are cut
/// into runs of digits and runs of letters; digit runs compare as numbers and beat letter
/// runs; `~` sorts before anything (pre-releases), `^` after the base version.
enum VersionCompare {
    /// -1, 0 or 1.
    static func compare(_ a: String, _ b: String) -> Int {
        if a == b { return 0 }
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0, j = 0
        func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        while i < x.count || j < y.count {
            while i < x.count && !isAlnum(x[i]) && x[i] != 0x7e && x[i] != 0x5e { i += 1 }
            while j < y.count && !isAlnum(y[j]) && y[j] != 0x7e && y[j] != 0x5e { j += 1 }
            // Tilde: the side that has it is older.
            let xt = i < x.count && x[i] == 0x7e, yt = j < y.count && y[j] == 0x7e
            if xt || yt {
                if !xt { return 1 }
                if !yt { return -1 }
                i += 1; j += 1
                continue
            }
            // Caret: newer than the end of the other string, older than more version.
            let xc = i < x.count && x[i] == 0x5e, yc = j < y.count && y[j] == 0x5e
            if xc || yc {
                if i >= x.count { return -1 }
                if j >= y.count { return 1 }
                if !xc { return 1 }
                if !yc { return -1 }
                i += 1; j += 1
                continue
            }
            if i >= x.count || j >= y.count { break }
            let numeric = isDigit(x[i])
            var ie = i, je = j
            if numeric {
                while ie < x.count && isDigit(x[ie]) { ie += 1 }
                while je < y.count && isDigit(y[je]) { je += 1 }
            } else {
                while ie < x.count && isAlnum(x[ie]) && !isDigit(x[ie]) { ie += 1 }
                while je < y.count && isAlnum(y[je]) && !isDigit(y[je]) { je += 1 }
            }
            if je == j {
                // The segments are of different kinds: a number is newer than letters.
                return numeric ? 1 : -1
            }
            var sx = x[i..<ie], sy = y[j..<je]
            if numeric {
                sx = sx.drop { $0 == 0x30 }
                sy = sy.drop { $0 == 0x30 }
                if sx.count != sy.count { return sx.count > sy.count ? 1 : -1 }
            }
            if !sx.elementsEqual(sy) { return sx.lexicographicallyPrecedes(sy) ? -1 : 1 }
            i = ie; j = je
        }
        if i >= x.count && j >= y.count { return 0 }
        return i >= x.count ? -1 : 1
    }
}
