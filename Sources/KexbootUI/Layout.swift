/// One row of the screen as it should look.
public struct ScreenLine: Sendable, Equatable {
    public enum Style: Sendable, Equatable { case normal, title, heading, selected, keys, error, dim }
    public var text: String
    public var style: Style

    public init(_ text: String, _ style: Style = .normal) {
        self.text = text
        self.style = style
    }
}

/// Display columns: wide characters take two, combining marks none.
public enum Columns {
    public static func width(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { $0 + scalarWidth($1) }
    }

    /// The columns a scalar takes on a terminal: East Asian wide and emoji blocks two,
    /// combining marks and zero-width characters none, everything else one. A table of its
    /// own rather than wcwidth(3), whose answer depends on the locale the process has.
    static func scalarWidth(_ u: Unicode.Scalar) -> Int {
        let v = u.value
        if v < 0x7f { return v < 0x20 ? 0 : 1 }
        if v < 0xa0 { return 0 }
        switch v {
        case 0x0300...0x036f, 0x0483...0x0489, 0x0591...0x05bd, 0x0610...0x061a, 0x064b...0x065f,
             0x200b...0x200f, 0x2028...0x202e, 0x2060...0x2064, 0x20d0...0x20ff, 0xfe00...0xfe0f, 0xfe20...0xfe2f:
            return 0
        case 0x1100...0x115f, 0x2e80...0x303e, 0x3041...0x33ff, 0x3400...0x4dbf, 0x4e00...0x9fff, 0xa000...0xa4cf,
             0xac00...0xd7a3, 0xf900...0xfaff, 0xfe30...0xfe4f, 0xff00...0xff60, 0xffe0...0xffe6,
             0x1f300...0x1f64f, 0x1f900...0x1f9ff, 0x20000...0x2fffd, 0x30000...0x3fffd:
            return 2
        default:
            return 1
        }
    }

    /// `s` cut to at most `columns` display columns (with `…` when cut), or padded with
    /// blanks to exactly `columns` when `pad`.
    public static func fit(_ s: String, _ columns: Int, pad: Bool = false) -> String {
        guard columns > 0 else { return "" }
        var out = ""
        var used = 0
        let total = width(s)
        let limit = total > columns ? columns - 1 : columns
        for ch in s {
            let w = ch.unicodeScalars.reduce(0) { $0 + scalarWidth($1) }
            if used + w > limit { break }
            out.append(ch)
            used += w
        }
        if total > columns {
            out.append("…")
            used += 1
        }
        if pad, used < columns { out += String(repeating: " ", count: columns - used) }
        return out
    }
}

/// The main menu, laid out for a terminal of `rows` × `cols`.
public struct MainScreen: Sendable {
    public static let keys = "Enter=boot e=edit n=new c=config l=log i=info r=rescan u=URL h=help x=exit"
    public var version: String

    public init(version: String) {
        self.version = version
    }

    /// The first list row shown, adjusted so the selection is visible.
    public static func scroll(_ model: MenuModel, listHeight: Int, current: Int) -> Int {
        let rows = model.rows
        guard let index = rows.firstIndex(where: { if case .option(let o) = $0 { o.id == model.selectedID } else { false } }) else { return 0 }
        var top = min(current, max(0, rows.count - listHeight))
        if index < top {
            // Show the device heading above the first option of a group too.
            top = index > 0 && { if case .device = rows[index - 1] { true } else { false } }() ? index - 1 : index
        } else if index >= top + listHeight {
            top = index - listHeight + 1
        }
        return max(0, top)
    }

    public func lines(_ model: MenuModel, rows height: Int, cols width: Int, scroll: Int, restricted: Bool) -> [ScreenLine] {
        guard height >= 6, width >= 20 else {
            return [ScreenLine(Columns.fit("kexboot: the terminal is too small", width))]
        }
        var out: [ScreenLine] = []
        out.append(ScreenLine(Columns.fit("kexboot \(version) — boot menu\(restricted ? " (restricted)" : "")", width, pad: true), .title))
        out.append(ScreenLine(""))
        let listHeight = height - 5
        let rows = model.rows
        if rows.isEmpty {
            out.append(ScreenLine(Columns.fit("  No boot options yet; devices are still being probed.", width)))
        }
        for row in rows.dropFirst(scroll).prefix(listHeight) {
            switch row {
            case .device(let d):
                out.append(ScreenLine(Columns.fit(d.heading, width), .heading))
            case .option(let o):
                let mark = o.isDefault ? "*" : " "
                let text = Columns.fit("  \(mark) \(o.title)", width, pad: o.id == model.selectedID)
                out.append(ScreenLine(text, o.id == model.selectedID ? .selected : .normal))
            }
        }
        while out.count < 2 + listHeight { out.append(ScreenLine("")) }
        out.append(ScreenLine(Columns.fit(model.countdownText ?? "", width), .normal))
        if let bar = model.progressText(width: width) {
            out.append(ScreenLine(Columns.fit(bar, width)))
        } else if let status = model.status {
            out.append(ScreenLine(Columns.fit(status.message, width), status.level == "error" ? .error : .normal))
        } else {
            out.append(ScreenLine(""))
        }
        out.append(ScreenLine(Columns.fit(MainScreen.keys, width, pad: true), .keys))
        return out
    }
}

/// A screen of text (log, system information, help) that scrolls.
public struct TextScreen: Sendable {
    public var title: String
    public var body: [String]
    public var top = 0
    public static let keys = "Up/Down/PgUp/PgDn=scroll  x or Esc=back"

    public init(title: String, body: [String]) {
        self.title = title
        self.body = body
    }

    public mutating func scroll(_ delta: Int, height: Int) {
        top = max(0, min(top + delta, max(0, body.count - (height - 3))))
    }

    public func lines(rows height: Int, cols width: Int) -> [ScreenLine] {
        var out = [ScreenLine(Columns.fit(title, width, pad: true), .title), ScreenLine("")]
        for line in body.dropFirst(top).prefix(max(0, height - 3)) { out.append(ScreenLine(Columns.fit(line, width))) }
        while out.count < height - 1 { out.append(ScreenLine("")) }
        out.append(ScreenLine(Columns.fit(TextScreen.keys, width, pad: true), .keys))
        return out
    }
}
