internal import CCurses

/// The terminal through ncursesw. Drawing is a whole screen of lines each time; curses
/// compares it with what the terminal already shows and sends only the difference, so a
/// countdown tick costs a few bytes on a serial line.
public final class Terminal {
    public enum Key: Equatable, Sendable {
        case char(Character)
        case up, down, left, right, pageUp, pageDown, home, end, backspace, delete, enter, escape, tab, backTab, resize, other
    }

    private var started = false

    public init(escapeDelayMs: Int = 250) throws {
        guard kx_ui_start(Int32(escapeDelayMs)) == 0 else {
            throw TerminalError(message: "this terminal cannot be used by curses (is TERM set?)")
        }
        started = true
    }

    deinit { end() }

    public func end() {
        guard started else { return }
        kx_ui_end()
        started = false
    }

    /// Leaves curses for a while (a shell, a boot's output) and comes back with `resume`.
    public func suspend() { kx_ui_end() }
    public func resume() {
        _ = kx_ui_start(250)
        kx_ui_touch()
    }

    public var size: (rows: Int, cols: Int) {
        var r: Int32 = 0, c: Int32 = 0
        kx_ui_size(&r, &c)
        return (Int(r), Int(c))
    }

    public func draw(_ lines: [ScreenLine], cursor: (Int, Int)? = nil) {
        let (rows, cols) = size
        for row in 0..<rows {
            let line = row < lines.count ? lines[row] : ScreenLine("")
            // The bottom-right cell cannot be written without scrolling the screen.
            var text = line.text
            if row == rows - 1 {
                while text.last == " " { text.removeLast() }
                text = Columns.fit(text, cols - 1)
            }
            let attrs: Int32
            switch line.style {
            case .normal: attrs = Int32(KX_ATTR_NORMAL)
            case .title, .heading: attrs = Int32(KX_ATTR_BOLD)
            case .selected, .keys: attrs = Int32(KX_ATTR_REVERSE)
            case .error: attrs = Int32(KX_ATTR_BOLD)
            case .dim: attrs = Int32(KX_ATTR_DIM)
            }
            kx_ui_put(Int32(row), 0, text, attrs, 1)
        }
        if let cursor {
            kx_ui_cursor(Int32(cursor.0), Int32(cursor.1), 1)
        } else {
            kx_ui_cursor(0, 0, 0)
        }
        kx_ui_refresh()
    }

    /// The next key, waiting at most `timeoutMs` (0: only what is already there).
    public func key(timeoutMs: Int) -> Key? {
        let k = kx_ui_key(Int32(timeoutMs))
        switch k {
        case Int32(KX_KEY_NONE): return nil
        case Int32(KX_KEY_UP): return .up
        case Int32(KX_KEY_DOWN): return .down
        case Int32(KX_KEY_LEFT): return .left
        case Int32(KX_KEY_RIGHT): return .right
        case Int32(KX_KEY_PGUP): return .pageUp
        case Int32(KX_KEY_PGDN): return .pageDown
        case Int32(KX_KEY_HOME): return .home
        case Int32(KX_KEY_END): return .end
        case Int32(KX_KEY_BACKSPACE): return .backspace
        case Int32(KX_KEY_DELETE): return .delete
        case Int32(KX_KEY_ENTER): return .enter
        case Int32(KX_KEY_RESIZE): return .resize
        case Int32(KX_KEY_TAB_BACK): return .backTab
        case Int32(KX_KEY_OTHER): return .other
        case 0x0a, 0x0d: return .enter
        case 0x1b: return .escape
        case 0x09: return .tab
        case 0x7f, 0x08: return .backspace
        default:
            guard k >= 0x20, let scalar = Unicode.Scalar(UInt32(k)) else { return .other }
            return .char(Character(scalar))
        }
    }
}

public struct TerminalError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
