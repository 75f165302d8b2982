/// Splits GRUB script into tokens as GRUB's own lexer does.
///
/// Works on bytes, not `Character`s: configs may hold invalid UTF-8 or NUL bytes, and a
/// generated grub.cfg can be megabytes long. Text is decoded (with U+FFFD for bad bytes)
/// only when a word is finished.
struct GrubLexer {
    let bytes: [UInt8]
    let end: Int
    private(set) var position: Int
    private(set) var line: Int
    /// Byte offset at which the current line's column 1 sits.
    private var lineStart: Int
    /// Set once a NUL byte has been seen (the caller reports it once).
    private(set) var sawNul = false
    private var buffer: [UInt8] = []
    private let breaks = GrubLexer.breakTable

    /// How a block scan that started at a `{` ended.
    private enum BlockEnd {
        /// At the `}` at `close`; lexing goes on after it, on `line`, whose column 1 is at
        /// `lineStart`.
        case closed(close: Int, line: Int, lineStart: Int)
        /// The input ended first.
        case unclosed
        /// The scan failed (an unterminated quote).
        case failed(GrubSyntaxError)
    }

    /// What the block scans that ran to the end of the input found for every `{` they
    /// passed, by its offset. Recovery goes back to the line after a statement whose block
    /// never closed, and the next `{` is often one such a scan has passed already: scanning
    /// again from there would make a file of unclosed blocks quadratic.
    private var blockEnds: [Int: BlockEnd] = [:]
    /// Bytes passed over by reusing `blockEnds` instead of scanning them.
    private(set) var jumped = 0

    init(_ range: SourceRange) {
        bytes = range.file.bytes
        end = min(range.end, range.file.bytes.count)
        position = range.start
        line = range.line
        lineStart = range.start - (range.column - 1)
        buffer.reserveCapacity(256)
    }

    var column: Int { position - lineStart + 1 }

    /// Continues lexing at `offset`, which must be the first byte of `line`.
    mutating func reset(to offset: Int, line: Int) {
        position = offset
        self.line = line
        lineStart = offset
    }

    // Byte classes.
    private static let space: UInt8 = 0x20, tab: UInt8 = 0x09, cr: UInt8 = 0x0d, lf: UInt8 = 0x0a
    private static let backslash: UInt8 = 0x5c, dollar: UInt8 = 0x24, hash: UInt8 = 0x23
    private static let squote: UInt8 = 0x27, dquote: UInt8 = 0x22
    private static let lbrace: UInt8 = 0x7b, rbrace: UInt8 = 0x7d, semicolon: UInt8 = 0x3b

    /// Bytes that end a word outside quotes.
    private static let breakTable: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for b in [0x00, 0x20, 0x09, 0x0d, 0x0a, 0x3b, 0x7b, 0x7d, 0x7c, 0x26, 0x3c, 0x3e] as [UInt8] {
            table[Int(b)] = true
        }
        return table
    }()

    private static func isNameStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        isNameStart(b) || (b >= 0x30 && b <= 0x39)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// `?`, `#`, `*`, `@`.
    private static func isSpecial(_ b: UInt8) -> Bool { b == 0x3f || b == 0x23 || b == 0x2a || b == 0x40 }

    private mutating func newline(at offset: Int) {
        line += 1
        lineStart = offset + 1
    }

    mutating func next() throws(GrubSyntaxError) -> GrubToken {
        // Blanks, line continuations and comments between tokens.
        while position < end {
            let b = bytes[position]
            if b == Self.space || b == Self.tab || b == Self.cr {
                position += 1
            } else if b == 0 {
                sawNul = true
                position += 1
            } else if b == Self.backslash && position + 1 < end && bytes[position + 1] == Self.lf {
                newline(at: position + 1)
                position += 2
            } else if b == Self.hash {
                while position < end && bytes[position] != Self.lf { position += 1 }
            } else {
                break
            }
        }
        let startLine = line, startColumn = column, start = position
        func token(_ kind: GrubToken.Kind) -> GrubToken {
            GrubToken(kind: kind, word: GrubWord(parts: [], isPlain: false), offset: start, line: startLine, column: startColumn)
        }
        guard position < end else { return token(.end) }
        switch bytes[position] {
        case Self.lf:
            newline(at: position)
            position += 1
            return token(.newline)
        case Self.semicolon:
            position += 1
            return token(.semicolon)
        case Self.lbrace:
            position += 1
            return token(.leftBrace)
        case Self.rbrace:
            position += 1
            return token(.rightBrace)
        case 0x7c, 0x26, 0x3c, 0x3e:
            position += 1
            return token(.unsupportedOperator)
        default:
            let word = try lexWord(startLine: startLine, startColumn: startColumn)
            return GrubToken(kind: .word, word: word, offset: start, line: startLine, column: startColumn)
        }
    }

    /// Skips to the `}` that closes a block whose `{` was just read, without building
    /// tokens: quotes, escapes, `${…}` and comments are honoured exactly as `next()`
    /// honours them. Returns the offset of that `}` (the position is then after it), or
    /// `nil` when the input ends first.
    ///
    /// A scan that fails remembers where every block it passed ends, so a later scan from
    /// one of those `{` costs nothing: the lexical state after a `{` is the same whichever
    /// scan reaches it, so the answer is too.
    mutating func skipBlock() throws(GrubSyntaxError) -> Int? {
        let open = position - 1
        if let known = blockEnds[open] {
            switch known {
            case .closed(let close, let closeLine, let closeLineStart):
                jumped += close + 1 - position
                position = close + 1
                line = closeLine
                lineStart = closeLineStart
                return close
            case .unclosed:
                return nil
            case .failed(let error):
                throw error
            }
        }
        // The `{` still open, innermost last, and the blocks closed so far (kept only if
        // the scan fails).
        var opens = [open]
        var closed: [(open: Int, end: BlockEnd)] = []
        func fail(_ end: BlockEnd) {
            for (o, e) in closed { blockEnds[o] = e }
            for o in opens { blockEnds[o] = end }
        }
        var atTokenStart = true
        while position < end {
            let b = bytes[position]
            switch b {
            case Self.lf:
                newline(at: position)
                position += 1
                atTokenStart = true
            case Self.lbrace:
                opens.append(position)
                position += 1
                atTokenStart = true
            case Self.rbrace:
                let o = opens.removeLast()
                position += 1
                atTokenStart = true
                if opens.isEmpty { return position - 1 }
                closed.append((o, .closed(close: position - 1, line: line, lineStart: lineStart)))
            case Self.hash where atTokenStart:
                while position < end && bytes[position] != Self.lf { position += 1 }
            case Self.backslash:
                if position + 1 < end && bytes[position + 1] == Self.lf {
                    newline(at: position + 1)
                } else {
                    atTokenStart = false
                }
                position = min(position + 2, end)
            case Self.squote, Self.dquote:
                do throws(GrubSyntaxError) {
                    _ = try skipQuoted(b)
                } catch {
                    fail(.failed(error))
                    throw error
                }
                atTokenStart = false
            case Self.dollar:
                if lexVariableName() == nil { position += 1 }
                atTokenStart = false
            default:
                if b == 0 { sawNul = true }
                position += 1
                atTokenStart = breaks[Int(b)]
            }
        }
        fail(.unclosed)
        return nil
    }

    /// At a `'` or `"`: moves past the closing quote (a backslash escapes the next byte
    /// inside double quotes) and returns the range between the quotes.
    private mutating func skipQuoted(_ quote: UInt8) throws(GrubSyntaxError) -> Range<Int> {
        let quoteLine = line, quoteColumn = column, quoteOffset = position
        position += 1
        while position < end && bytes[position] != quote {
            if quote == Self.dquote && bytes[position] == Self.backslash && position + 1 < end {
                if bytes[position + 1] == Self.lf { newline(at: position + 1) }
                position += 2
                continue
            }
            if bytes[position] == Self.lf { newline(at: position) }
            position += 1
        }
        guard position < end else {
            let kind = quote == Self.squote ? "single" : "double"
            throw GrubSyntaxError(message: "unterminated \(kind) quote", offset: quoteOffset,
                                  line: quoteLine, column: quoteColumn, atEnd: true)
        }
        position += 1
        return (quoteOffset + 1)..<(position - 1)
    }

    private mutating func flush(into parts: inout [GrubWordPart]) {
        guard !buffer.isEmpty else { return }
        let text = String(decoding: buffer, as: UTF8.self)
        if case .text(let previous)? = parts.last {
            parts[parts.count - 1] = .text(previous + text)
        } else {
            parts.append(.text(text))
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func lexWord(startLine: Int, startColumn: Int) throws(GrubSyntaxError) -> GrubWord {
        var parts: [GrubWordPart] = []
        var plain = true
        var hadQuotes = false
        buffer.removeAll(keepingCapacity: true)
        while position < end {
            let b = bytes[position]
            if breaks[Int(b)] { break }
            switch b {
            case Self.backslash:
                plain = false
                if position + 1 >= end {
                    buffer.append(b)
                    position += 1
                } else if bytes[position + 1] == Self.lf {
                    newline(at: position + 1)
                    position += 2
                } else {
                    buffer.append(bytes[position + 1])
                    position += 2
                }
            case Self.squote:
                plain = false
                hadQuotes = true
                let content = try skipQuoted(b)
                buffer.append(contentsOf: bytes[content])
            case Self.dquote:
                plain = false
                hadQuotes = true
                try lexDoubleQuoted(into: &parts)
            case Self.dollar:
                if let name = lexVariableName() {
                    plain = false
                    flush(into: &parts)
                    parts.append(.variable(name, quoted: false))
                } else {
                    buffer.append(b)
                    position += 1
                }
            default:
                // A run of ordinary bytes is copied at once.
                let start = position
                position += 1
                while position < end {
                    let c = bytes[position]
                    if breaks[Int(c)] || c == Self.backslash || c == Self.squote || c == Self.dquote || c == Self.dollar { break }
                    position += 1
                }
                buffer.append(contentsOf: bytes[start..<position])
            }
        }
        if parts.isEmpty {
            // No variable: the word is its text (an empty `""` is still an argument).
            let text = String(decoding: buffer, as: UTF8.self)
            buffer.removeAll(keepingCapacity: true)
            _ = hadQuotes
            return GrubWord(text: text, isPlain: plain)
        }
        flush(into: &parts)
        return GrubWord(parts: parts, isPlain: plain)
    }

    private mutating func lexDoubleQuoted(into parts: inout [GrubWordPart]) throws(GrubSyntaxError) {
        let quoteLine = line, quoteColumn = column, quoteOffset = position
        position += 1
        // An empty "" still makes a (possibly empty) text part.
        var sawAnything = false
        while position < end {
            let b = bytes[position]
            if b == Self.dquote {
                position += 1
                if !sawAnything && buffer.isEmpty { parts.append(.text("")) }
                return
            }
            sawAnything = true
            switch b {
            case Self.backslash where position + 1 < end:
                let n = bytes[position + 1]
                if n == Self.lf {
                    newline(at: position + 1)
                    position += 2
                } else if n == Self.dollar || n == Self.dquote || n == Self.backslash {
                    buffer.append(n)
                    position += 2
                } else {
                    buffer.append(b)
                    position += 1
                }
            case Self.dollar:
                if let name = lexVariableName() {
                    flush(into: &parts)
                    parts.append(.variable(name, quoted: true))
                } else {
                    buffer.append(b)
                    position += 1
                }
            case Self.lf:
                newline(at: position)
                buffer.append(b)
                position += 1
            default:
                buffer.append(b)
                position += 1
            }
        }
        throw GrubSyntaxError(message: "unterminated double quote", offset: quoteOffset,
                              line: quoteLine, column: quoteColumn, atEnd: true)
    }

    /// At a `$`: consumes `$name`, `${name}`, `$1`, `$?`, `$#`, `$*`, `$@` and returns the
    /// name, or returns nil (consuming nothing) when the `$` is literal.
    private mutating func lexVariableName() -> String? {
        let next = position + 1
        guard next < end else { return nil }
        let b = bytes[next]
        if b == Self.lbrace {
            // GRUB accepts `${NAME}`, `${DIGITS}` and `${?}` `${#}` `${*}` `${@}` only;
            // anything else leaves the `$` literal.
            let first = next + 1
            var i = first
            guard i < end else { return nil }
            if Self.isNameStart(bytes[i]) {
                while i < end && Self.isNameByte(bytes[i]) { i += 1 }
            } else if Self.isDigit(bytes[i]) {
                while i < end && Self.isDigit(bytes[i]) { i += 1 }
            } else if Self.isSpecial(bytes[i]) {
                i += 1
            }
            guard i > first, i < end, bytes[i] == Self.rbrace else { return nil }
            position = i + 1
            return String(decoding: bytes[first..<i], as: UTF8.self)
        }
        if Self.isNameStart(b) {
            var i = next + 1
            while i < end && Self.isNameByte(bytes[i]) { i += 1 }
            position = i
            return String(decoding: bytes[next..<i], as: UTF8.self)
        }
        if Self.isDigit(b) {
            var i = next + 1
            while i < end && Self.isDigit(bytes[i]) { i += 1 }
            position = i
            return String(decoding: bytes[next..<i], as: UTF8.self)
        }
        if Self.isSpecial(b) {
            position = next + 1
            return String(UnicodeScalar(b))
        }
        return nil
    }
}
