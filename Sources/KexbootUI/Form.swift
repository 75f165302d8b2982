/// A screen of labelled one-line text fields: editing a boot option, a new one, the
/// settings, or a single prompt (a URL, a password).
public struct Form: Sendable {
    public struct Field: Sendable, Equatable {
        public var label: String
        public var value: String
        public var secret = false

        public init(_ label: String, _ value: String, secret: Bool = false) {
            self.label = label
            self.value = value
            self.secret = secret
        }
    }

    public var title: String
    public var fields: [Field]
    public var focus = 0
    /// Cursor position in the focused field, in characters.
    public var cursor: Int
    public var keys = "Up/Down=field  Enter=done  Esc=cancel"

    public init(title: String, fields: [Field]) {
        self.title = title
        self.fields = fields
        cursor = fields.first?.value.count ?? 0
    }

    public func value(_ label: String) -> String { fields.first { $0.label == label }?.value ?? "" }

    public mutating func moveField(_ delta: Int) {
        guard !fields.isEmpty else { return }
        focus = (focus + delta + fields.count) % fields.count
        cursor = fields[focus].value.count
    }

    public mutating func moveCursor(_ delta: Int) {
        cursor = max(0, min(cursor + delta, fields[focus].value.count))
    }

    public mutating func home() { cursor = 0 }
    public mutating func end() { cursor = fields[focus].value.count }

    public mutating func insert(_ c: Character) {
        var chars = Array(fields[focus].value)
        chars.insert(c, at: min(cursor, chars.count))
        fields[focus].value = String(chars)
        cursor += 1
    }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        var chars = Array(fields[focus].value)
        chars.remove(at: cursor - 1)
        fields[focus].value = String(chars)
        cursor -= 1
    }

    public mutating func delete() {
        var chars = Array(fields[focus].value)
        guard cursor < chars.count else { return }
        chars.remove(at: cursor)
        fields[focus].value = String(chars)
    }

    /// The lines, and where the cursor goes (row, column).
    public func lines(rows height: Int, cols width: Int) -> ([ScreenLine], (Int, Int)) {
        var out = [ScreenLine(Columns.fit(title, width, pad: true), .title), ScreenLine("")]
        let labelWidth = min(14, (fields.map { $0.label.count }.max() ?? 0) + 2)
        var cursorAt = (2, labelWidth)
        let fieldWidth = max(1, width - labelWidth - 1)
        for (i, f) in fields.enumerated() {
            var shown = f.secret ? String(repeating: "*", count: f.value.count) : f.value
            var offset = 0
            if i == focus, cursor >= fieldWidth {
                // Scroll the field horizontally to keep the cursor in view.
                offset = cursor - fieldWidth + 1
                shown = String(Array(shown).dropFirst(offset))
            }
            let label = Columns.fit(f.label + ":", labelWidth, pad: true)
            out.append(ScreenLine(label + Columns.fit(shown, fieldWidth), i == focus ? .selected : .normal))
            if i == focus {
                let before = String(Array(f.secret ? String(repeating: "*", count: f.value.count) : f.value).dropFirst(offset).prefix(cursor - offset))
                cursorAt = (out.count - 1, min(width - 1, labelWidth + Columns.width(before)))
            }
        }
        while out.count < height - 1 { out.append(ScreenLine("")) }
        out.append(ScreenLine(Columns.fit(keys, width, pad: true), .keys))
        return (out, cursorAt)
    }
}
