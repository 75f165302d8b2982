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
