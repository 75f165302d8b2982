import Testing
@testable import KexbootConfig

/// Every word of one line, as GRUB would pass them to a command.
private func words(_ text: String, vars: [String: String] = [:]) -> [String] {
    let interp = interpreter()
    for (k, v) in vars { interp.setVariable(k, v) }
    return interp.expandText(text, name: "t")
}

private func tokens(_ text: String) throws -> [GrubToken.Kind] {
    var lexer = GrubLexer(SourceRange(file: SourceFile(path: "t", text: text)))
    var kinds: [GrubToken.Kind] = []
    while true {
        let t = try lexer.next()
        kinds.append(t.kind)
        if t.kind == .end { return kinds }
    }
}

@Suite struct GrubLexerTests {
    @Test(arguments: [
        // words and blanks
        ("a b\tc", ["a", "b", "c"]),
        // single quotes: everything literal, even $ and backslash
        (#"'a b' '$x' 'c\d'"#, ["a b", "$x", #"c\d"#]),
        // double quotes: $ expands, \ escapes only $ " \ and newline
        (#""a b" "$x" "\$x" "\"" "\\" "\n""#, ["a b", "X", "$x", "\"", "\\", #"\n"#]),
        // backslash outside quotes escapes anything
        (#"a\ b \'c\' \$x"#, ["a b", "'c'", "$x"]),
        // adjacent pieces make one word
        (#"a'b'"c"$x"#, ["abcX"]),
        // ${var} and $var stop at non-name characters
        ("${x}y $x-y $x.y", ["Xy", "X-y", "X.y"]),
        // $ that starts no name is literal; ${…} must hold a name, digits or ? # * @
        ("$ a$ $-", ["$", "a$", "$-"]),
        ("\"${x-y}\" \"${}\" ${?}", ["${x-y}", "${}", "0"]),
        // comments start only at a word's beginning
        ("a#b # comment", ["a#b"]),
        // line continuation
        ("a\\\nb c", ["ab", "c"]),
        // empty quoted strings are arguments; empty unquoted variables are not
        ("\"\" '' $empty \"$empty\"", ["", "", ""]),
        // unquoted variables split at blanks, quoted ones do not
        ("$two \"$two\" pre$two", ["one", "two", "one two", "preone", "two"]),
        // parentheses are ordinary word characters (device names)
        ("(hd0,gpt2)/vmlinuz ($root)/x", ["(hd0,gpt2)/vmlinuz", "(R)/x"]),
    ])
    func wordRules(input: String, expected: [String]) {
        #expect(words(input, vars: ["x": "X", "two": "one two", "root": "R", "empty": ""]) == expected)
    }

    @Test func positionalAndSpecialVariables() {
        let interp = interpreter()
        interp.frames = [["t1", "a b", "c"]]
        interp.status = 3
        #expect(interp.expandText("$1 $# $? ${2} \"$*\" $9", name: "t") == ["t1", "3", "3", "a", "b", "t1 a b c"])
        #expect(interp.expandText("\"$@\"", name: "t") == ["t1 a b c"])
    }

    @Test func operatorsAndSeparators() throws {
        #expect(try tokens("a;b\n{ }") == [.word, .semicolon, .word, .newline, .leftBrace, .rightBrace, .end])
        #expect(try tokens("a | b > c") == [.word, .unsupportedOperator, .word, .unsupportedOperator, .word, .end])
        #expect(try tokens("a{b}") == [.word, .leftBrace, .word, .rightBrace, .end])
        #expect(try tokens("# only a comment\n") == [.newline, .end])
        #expect(try tokens("a\r\nb") == [.word, .newline, .word, .end])
    }

    @Test func keywordsOnlyWhenPlain() throws {
        var lexer = GrubLexer(SourceRange(file: SourceFile(path: "t", text: "if 'if' i\\f")))
        #expect(try lexer.next().keyword == "if")
        #expect(try lexer.next().keyword == nil)
        #expect(try lexer.next().keyword == nil)
    }

    @Test func unterminatedQuotesReportWhereTheyOpened() {
        var lexer = GrubLexer(SourceRange(file: SourceFile(path: "t", text: "a\n  echo \"abc\nmore")))
        _ = try? lexer.next()
        _ = try? lexer.next()
        _ = try? lexer.next()
        do {
            _ = try lexer.next()
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 2 && error.column == 8 && error.atEnd)
            #expect(error.message.contains("double quote"))
        }
    }

    @Test func locationsCountLinesAndColumns() throws {
        var lexer = GrubLexer(SourceRange(file: SourceFile(path: "t", text: "a\n\tbb \\\n  c")))
        let a = try lexer.next()
        _ = try lexer.next()
        let b = try lexer.next()
        let c = try lexer.next()
        #expect((a.line, a.column) == (1, 1))
        #expect((b.line, b.column) == (2, 2))
        #expect((c.line, c.column) == (3, 3))
    }
}

/// `skipBlock` (the fast path for menuentry bodies) must find the same closing brace as
/// counting the tokens `next()` produces.
@Suite struct SkipBlockEquivalenceTests {
    enum Outcome: Equatable {
        case close(Int, line: Int)
        case end
        case error(String)
    }

    static let pieces = ["{", "}", "'", "\"", "\\", "$", "${x}", "${", "#", " ", "\n", "a", ";", "\\\n", "\\}", "x#y", "\"}\"", "'{'", "|"]

    static func byTokens(_ text: String) -> Outcome {
        var lexer = GrubLexer(SourceRange(file: SourceFile(path: "t", text: text)))
        var level = 1
        do {
            while true {
                let t = try lexer.next()
                switch t.kind {
                case .leftBrace: level += 1
                case .rightBrace:
                    level -= 1
                    if level == 0 { return .close(t.offset, line: lexer.line) }
                case .end: return .end
                default: break
                }
            }
        } catch {
            return .error(error.message)
        }
    }

    static func bySkipping(_ text: String) -> Outcome {
        var lexer = GrubLexer(SourceRange(file: SourceFile(path: "t", text: text)))
        do {
            guard let close = try lexer.skipBlock() else { return .end }
            return .close(close, line: lexer.line)
        } catch {
            return .error(error.message)
        }
    }

    @Test func randomInputsAgree() {
        var rng = RobustnessTests.Random(state: 0xC0FFEE)
        for _ in 0..<3000 {
            let count = Int(rng.next() % 24)
            var text = ""
            for _ in 0..<count { text += Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))] }
            #expect(Self.bySkipping(text) == Self.byTokens(text), "\(text.debugDescription)")
        }
    }
}
