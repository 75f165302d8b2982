import KexbootCore

/// A simple command: its words as written, and the `{ … }` block after them if any
/// (menuentry, submenu). The block is kept as source, as GRUB keeps it, and parsed when
/// it runs.
struct GrubCommand {
    var words: [GrubWord]
    var block: SourceRange?
    var location: SourceLocation
}

struct GrubIfClause {
    var condition: [GrubNode]
    var body: [GrubNode]
}

indirect enum GrubNode {
    case command(GrubCommand)
    case ifChain(clauses: [GrubIfClause], otherwise: [GrubNode]?, location: SourceLocation)
    case forLoop(variable: String, words: [GrubWord], body: [GrubNode], location: SourceLocation)
    case whileLoop(condition: [GrubNode], body: [GrubNode], isUntil: Bool, location: SourceLocation)
    case function(name: String, body: [GrubNode], location: SourceLocation)
    case group([GrubNode])
}
