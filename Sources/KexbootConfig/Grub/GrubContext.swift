import KexbootCore

struct GrubVariable {
    var value: String
    var exported: Bool
}

/// What a menu item runs when chosen.
enum GrubMenuBody {
    case script(SourceRange)
    /// An entry made by `blscfg`; `bootPrefix` is `/boot` when the entries came from
    /// `/boot/loader/entries` on a filesystem that is also `/`.
    case bls(BLSEntry, bootPrefix: String)
}

/// A `menuentry`, `hiddenentry` or `submenu` as defined: run later, against the
/// environment its context has when the config has finished.
struct GrubMenuItem {
    var title: String
    var id: String?
    var extraArgs: [String]
    var isSubmenu: Bool
    var isHidden: Bool
    var body: GrubMenuBody
    var location: SourceLocation
    /// The context the item was defined in (strong: the interpreter clears every
    /// context's menu when it is done, which breaks the cycle).
    var context: GrubContext
}

/// A GRUB environment context: the variables and the menu being built. `submenu` and
/// `configfile` open a new one that starts with the exported variables only.
final class GrubContext {
    var vars: [String: GrubVariable]
    var menu: [GrubMenuItem] = []
    /// Set when a `configfile` replaced this context's menu: GRUB shows the new menu, so
    /// its `default` and `timeout` are the ones autoboot follows.
    var replacement: (firstItem: Int, context: GrubContext)?
    init(vars: [String: GrubVariable]) {
        self.vars = vars
    }

    func exportedCopy() -> GrubContext {
        GrubContext(vars: vars.filter { $0.value.exported })
    }

    subscript(name: String) -> String? {
        vars[name]?.value
    }
}
