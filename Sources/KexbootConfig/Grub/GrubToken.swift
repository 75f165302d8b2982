import KexbootCore

/// One piece of a GRUB word: literal text (quoting already removed) or a variable
/// reference that is expanded when the command runs.
enum GrubWordPart: Equatable {
    case text(String)
    /// `quoted` is true inside `"…"`: such a value is never split into several words.
    case variable(String, quoted: Bool)
}

/// A word as written: literal text (the common case, kept without an array), or pieces
/// with variables; and whether it was nothing but unquoted literal text (only such words
/// can be keywords like `if` or `menuentry`).
struct GrubWord: Equatable {
    /// The whole word when it holds no variable.
    var text: String?
    /// The pieces, when the word holds a variable (`text` is then nil).
    var parts: [GrubWordPart]
    var isPlain: Bool

    init(text: String, isPlain: Bool) {
        self.text = text
        self.parts = []
        self.isPlain = isPlain
    }

    init(parts: [GrubWordPart], isPlain: Bool) {
        self.text = nil
        self.parts = parts
        self.isPlain = isPlain
    }

    /// The literal text of a plain word.
    var plainText: String? { isPlain ? text : nil }

    func isKeyword(_ keyword: String) -> Bool { plainText == keyword }
}

struct GrubToken {
    enum Kind: Equatable {
        case word
        case newline
        case semicolon
        case leftBrace
        case rightBrace
        /// `|`, `&`, `<`, `>`: GRUB's lexer knows them, its grammar accepts none.
        case unsupportedOperator
        case end
    }

    var kind: Kind
    var word: GrubWord
    var offset: Int
    var line: Int
    var column: Int

    static let keywords: Set<String> = [
        "if", "then", "elif", "else", "fi", "for", "in", "do", "done",
        "while", "until", "function",
    ]

    var keyword: String? {
        guard kind == .word, let text = word.plainText, GrubToken.keywords.contains(text) else { return nil }
        return text
    }
}

/// A syntax error. `atEnd` is set when the input ended inside a construct (an unclosed
/// quote or block); `opener` then says where that construct began.
struct GrubSyntaxError: Error {
    var message: String
    var offset: Int
    var line: Int
    var column: Int
    var atEnd: Bool = false
}
