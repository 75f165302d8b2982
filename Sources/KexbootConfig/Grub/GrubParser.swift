import KexbootCore

/// GRUB's grammar, one top-level statement at a time, with recovery: a statement that does
/// not parse is reported and skipped, and parsing resumes at the next line that looks like
/// the start of a statement at the same or an outer indentation.
struct GrubParser {
    enum Step {
        case statement(GrubNode)
        case error(GrubSyntaxError)
        case end
    }

    static let maxDepth = 100
    /// Parsing stops once the lexer has gone over the text this many times (plus a MiB):
    /// real files take one pass, and the shapes recovery meets (blocks, `if`s and quotes
    /// never closed) a few; only garbage takes more. Parsing stays linear in the size of
    /// the text whatever its shape.
    static let maxWorkFactor = 16

    private var lexer: GrubLexer
    private var token: GrubToken
    private var hasToken = false
    private let file: SourceFile
    private var depth = 0
    /// Compound statements (`if`, `for`, `while`, `function`, `{ … }`) that ran to the end
    /// of the input, by offset, with their error and the depth they were parsed at. Parsed
    /// again from there (recovery resumes on the line after an outer one), they fail the
    /// same way: at the same or a smaller depth, the same tokens give the same error.
    private var unclosed: [Int: (error: GrubSyntaxError, depth: Int)] = [:]
    /// Bytes the lexer and recovery have gone over, counting the same byte again each time.
    private var moved = 0
    private let workLimit: Int
    private var stopped = false

    init(_ range: SourceRange) {
        lexer = GrubLexer(range)
        file = range.file
        token = GrubToken(kind: .end, word: GrubWord(parts: [], isPlain: false), offset: range.start, line: range.line, column: range.column)
        workLimit = Self.maxWorkFactor * max(0, range.end - range.start) + (1 << 20)
    }

    /// True once a NUL byte has been skipped.
    var sawNul: Bool { lexer.sawNul }

    /// The line the lexer is on.
    var line: Int { lexer.line }

    /// Bytes gone over so far, with every byte that recovery makes the lexer go over again
    /// counted again: about the size of the text for any input (tests check it).
    var work: Int { moved - lexer.jumped }

    // MARK: Tokens

    private mutating func current() throws(GrubSyntaxError) -> GrubToken {
        if !hasToken {
            token = try lexer.next()
            hasToken = true
        }
        return token
    }

    private mutating func advance() throws(GrubSyntaxError) {
        hasToken = false
        _ = try current()
    }

    private func location(_ t: GrubToken) -> SourceLocation {
        SourceLocation(file: file.path, line: t.line, column: t.column)
    }

    private func error(_ message: String, at t: GrubToken) -> GrubSyntaxError {
        GrubSyntaxError(message: message, offset: t.offset, line: t.line, column: t.column, atEnd: t.kind == .end)
    }

    private func describe(_ t: GrubToken) -> String {
        switch t.kind {
        case .word: "'\(t.word.plainText ?? "word")'"
        case .newline: "end of line"
        case .semicolon: "';'"
        case .leftBrace: "'{'"
        case .rightBrace: "'}'"
        case .unsupportedOperator: "'\(String(UnicodeScalar(lexer.bytes[t.offset])))' (pipes and redirections are not GRUB script)"
        case .end: "end of file"
        }
    }

    private mutating func skipSeparators() throws(GrubSyntaxError) {
        while true {
            let t = try current()
            guard t.kind == .newline || t.kind == .semicolon else { return }
            try advance()
        }
    }

    private mutating func skipNewlines() throws(GrubSyntaxError) {
        while try current().kind == .newline { try advance() }
    }

    // MARK: Statements

    /// The next top-level statement, a syntax error (already recovered from), or the end.
    mutating func next() -> Step {
        if stopped { return .end }
        if work > workLimit {
            stopped = true
            return .error(GrubSyntaxError(message: "parsing stopped: the text needed more than \(Self.maxWorkFactor) passes over it; the rest is not read",
                                          offset: lexer.position, line: lexer.line, column: lexer.column))
        }
        var startOffset = lexer.position, startLine = lexer.line
        let stepStart = lexer.position
        do throws(GrubSyntaxError) {
            try skipSeparators()
            let t = try current()
            if t.kind == .end { return .end }
            startOffset = t.offset
            startLine = t.line
            let node = try parseStatement()
            let after = try current()
            switch after.kind {
            case .newline, .semicolon, .end: break
            default: throw error("expected ';' or end of line before \(describe(after))", at: after)
            }
            moved += lexer.position - stepStart
            return .statement(node)
        } catch {
            moved += lexer.position - stepStart
            recover(from: error, statementOffset: startOffset, statementLine: startLine)
            return .error(error)
        }
    }

    private mutating func parseStatement() throws(GrubSyntaxError) -> GrubNode {
        let t = try current()
        if let keyword = t.keyword {
            switch keyword {
            case "if": return try nested { (p: inout GrubParser) throws(GrubSyntaxError) in try p.parseIf() }
            case "for": return try nested { (p: inout GrubParser) throws(GrubSyntaxError) in try p.parseFor() }
            case "while", "until": return try nested { (p: inout GrubParser) throws(GrubSyntaxError) in try p.parseWhile() }
            case "function": return try nested { (p: inout GrubParser) throws(GrubSyntaxError) in try p.parseFunction() }
            default: throw error("unexpected '\(keyword)'", at: t)
            }
        }
        switch t.kind {
        case .word: return try parseCommand()
        case .leftBrace:
            return try nested { (p: inout GrubParser) throws(GrubSyntaxError) in
                try p.advance()
                let body = try p.parseList(until: [], opener: t, closedByBrace: true)
                try p.advance()  // the '}'
                return .group(body)
            }
        default:
            throw error("unexpected \(describe(t))", at: t)
        }
    }

    private mutating func nested(_ body: (inout GrubParser) throws(GrubSyntaxError) -> GrubNode) throws(GrubSyntaxError) -> GrubNode {
        let opener = try current()
        if let known = unclosed[opener.offset], depth < known.depth { throw known.error }
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth {
            throw error("blocks nested more than \(Self.maxDepth) deep", at: opener)
        }
        do throws(GrubSyntaxError) {
            return try body(&self)
        } catch {
            if error.atEnd { unclosed[opener.offset] = (error, depth) }
            throw error
        }
    }

    /// Statements up to (not including) one of the `terminators` keywords or, when
    /// `closedByBrace`, a `}`. Running out of input is an error about `opener`.
    private mutating func parseList(until terminators: Set<String>, opener: GrubToken, closedByBrace: Bool = false) throws(GrubSyntaxError) -> [GrubNode] {
        var nodes: [GrubNode] = []
        while true {
            try skipSeparators()
            let t = try current()
            if let keyword = t.keyword, terminators.contains(keyword) { return nodes }
            if closedByBrace && t.kind == .rightBrace { return nodes }
            if t.kind == .end {
                let what = closedByBrace ? "'}'" : terminators.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw GrubSyntaxError(message: "missing \(what) for \(describe(opener)) at line \(opener.line)",
                                      offset: opener.offset, line: opener.line, column: opener.column, atEnd: true)
            }
            nodes.append(try parseStatement())
            let after = try current()
            switch after.kind {
            case .newline, .semicolon: continue
            case .rightBrace where closedByBrace: continue
            case .word where after.keyword.map(terminators.contains) == true: continue
            default: throw error("expected ';' or end of line before \(describe(after))", at: after)
            }
        }
    }

    private mutating func expectKeyword(_ keyword: String) throws(GrubSyntaxError) {
        let t = try current()
        guard t.keyword == keyword else { throw error("expected '\(keyword)' but found \(describe(t))", at: t) }
        try advance()
    }

    private mutating func parseIf() throws(GrubSyntaxError) -> GrubNode {
        let opener = try current()
        try advance()
        var clauses: [GrubIfClause] = []
        var otherwise: [GrubNode]?
        var clauseOpener = opener
        while true {
            let condition = try parseList(until: ["then"], opener: clauseOpener)
            if condition.isEmpty { throw error("'\(clauseOpener.word.plainText ?? "if")' without a condition", at: try current()) }
            try expectKeyword("then")
            let body = try parseList(until: ["elif", "else", "fi"], opener: opener)
            clauses.append(GrubIfClause(condition: condition, body: body))
            let t = try current()
            if t.keyword == "elif" {
                clauseOpener = t
                try advance()
                continue
            }
            if t.keyword == "else" {
                try advance()
                otherwise = try parseList(until: ["fi"], opener: opener)
            }
            try expectKeyword("fi")
            return .ifChain(clauses: clauses, otherwise: otherwise, location: location(opener))
        }
    }

    private mutating func parseFor() throws(GrubSyntaxError) -> GrubNode {
        let opener = try current()
        try advance()
        let nameToken = try current()
        guard nameToken.kind == .word, let name = nameToken.word.plainText, isValidName(name) else {
            throw error("'for' needs a variable name", at: nameToken)
        }
        try advance()
        try expectKeyword("in")
        var words: [GrubWord] = []
        while try current().kind == .word {
            words.append(token.word)
            try advance()
        }
        let t = try current()
        guard t.kind == .semicolon || t.kind == .newline else {
            throw error("expected ';' or end of line before \(describe(t))", at: t)
        }
        try skipSeparators()
        try expectKeyword("do")
        let body = try parseList(until: ["done"], opener: opener)
        try expectKeyword("done")
        return .forLoop(variable: name, words: words, body: body, location: location(opener))
    }

    private mutating func parseWhile() throws(GrubSyntaxError) -> GrubNode {
        let opener = try current()
        let isUntil = opener.keyword == "until"
        try advance()
        let condition = try parseList(until: ["do"], opener: opener)
        if condition.isEmpty { throw error("'\(isUntil ? "until" : "while")' without a condition", at: try current()) }
        try expectKeyword("do")
        let body = try parseList(until: ["done"], opener: opener)
        try expectKeyword("done")
        return .whileLoop(condition: condition, body: body, isUntil: isUntil, location: location(opener))
    }

    private mutating func parseFunction() throws(GrubSyntaxError) -> GrubNode {
        let opener = try current()
        try advance()
        let nameToken = try current()
        guard nameToken.kind == .word, let name = nameToken.word.plainText, !name.isEmpty else {
            throw error("'function' needs a name", at: nameToken)
        }
        try advance()
        try skipNewlines()
        let brace = try current()
        guard brace.kind == .leftBrace else { throw error("expected '{' after 'function \(name)'", at: brace) }
        try advance()
        let body = try parseList(until: [], opener: brace, closedByBrace: true)
        try advance()  // the '}'
        return .function(name: name, body: body, location: location(opener))
    }

    private mutating func parseCommand() throws(GrubSyntaxError) -> GrubNode {
        let first = try current()
        var words: [GrubWord] = []
        var block: SourceRange?
        loop: while true {
            let t = try current()
            switch t.kind {
            case .word:
                words.append(t.word)
                try advance()
            case .leftBrace:
                block = try scanBlock(opener: t)
                break loop
            case .unsupportedOperator:
                throw error("unexpected \(describe(t))", at: t)
            default:
                break loop
            }
        }
        return .command(GrubCommand(words: words, block: block, location: location(first)))
    }

    /// Finds the `}` that closes the block opened by `opener` (the current token) by
    /// counting braces, and returns the text between them. The body is parsed later, when
    /// it runs: so an error inside one menuentry costs only that entry.
    private mutating func scanBlock(opener: GrubToken) throws(GrubSyntaxError) -> SourceRange {
        // The opener is the current token: the lexer stands right after it.
        let bodyStart = lexer.position, bodyLine = lexer.line, bodyColumn = lexer.column
        guard let close = try lexer.skipBlock() else {
            throw GrubSyntaxError(message: "missing '}' for the '{' at line \(opener.line)", offset: opener.offset,
                                  line: opener.line, column: opener.column, atEnd: true)
        }
        hasToken = false
        return SourceRange(file: file, start: bodyStart, end: close, line: bodyLine, column: bodyColumn)
    }

    // MARK: Recovery

    private static let closers: Set<String> = ["}", "fi", "done", "else", "elif", "then", "do", "esac"]

    /// Moves the lexer to the first line after the failed statement that starts a new
    /// statement at the failed statement's indentation or less.
    private mutating func recover(from error: GrubSyntaxError, statementOffset: Int, statementLine: Int) {
        let bytes = lexer.bytes, end = lexer.end
        var lineStart = statementOffset
        while lineStart > 0 && bytes[lineStart - 1] != 0x0a { lineStart -= 1 }
        let indent = Self.indentation(bytes, from: lineStart, end: end)
        var offset = error.atEnd ? statementOffset : max(error.offset, statementOffset)
        var line = error.atEnd ? statementLine : max(error.line, statementLine)
        let scanStart = offset
        defer { moved += statementOffset - lineStart + offset - scanStart }
        if offset < lexer.bytes.count && offset < end && bytes[offset] == 0x0a {
            // The error token was the newline itself: the next line starts right after it.
        }
        while offset < end {
            // Move to the start of the next line.
            while offset < end && bytes[offset] != 0x0a { offset += 1 }
            guard offset < end else { break }
            offset += 1
            line += 1
            var i = offset
            while i < end && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
            if i >= end { break }
            let b = bytes[i]
            if b == 0x0a || b == 0x0d || b == 0x23 { continue }  // blank or comment
            if Self.indentation(bytes, from: offset, end: end) > indent { continue }
            var j = i
            while j < end && !(bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0a || bytes[j] == 0x3b || bytes[j] == 0x0d) { j += 1 }
            let firstWord = String(decoding: bytes[i..<j], as: UTF8.self)
            if Self.closers.contains(firstWord) || firstWord.hasPrefix("}") { continue }
            lexer.reset(to: offset, line: line)
            hasToken = false
            return
        }
        lexer.reset(to: end, line: line)
        hasToken = false
    }

    private static func indentation(_ bytes: [UInt8], from start: Int, end: Int) -> Int {
        var width = 0, i = start
        while i < end {
            if bytes[i] == 0x20 { width += 1 } else if bytes[i] == 0x09 { width = (width / 8 + 1) * 8 } else { break }
            i += 1
        }
        return width
    }

    private func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f }
    }
}
