extension String {
    /// Without the blanks (spaces, tabs, carriage returns and newlines) at either end.
    public func trimmingBlanks() -> String {
        func blank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" }
        var s = Substring(self)
        while let f = s.first, blank(f) { s.removeFirst() }
        while let l = s.last, blank(l) { s.removeLast() }
        return String(s)
    }
}

extension String {
    /// `52:54:00:12:34:56` → `52-54-00-12-34-56` (pxelinux's `01-<mac>` and `BOOTIF=`).
    public func replacingColons() -> String {
        split(separator: ":", omittingEmptySubsequences: false).joined(separator: "-")
    }
}
