import KexbootConfig
import KexbootCore

/// The human-readable form of a parse result.
struct MenuTable {
    let result: ParseResult

    init(_ result: ParseResult) {
        self.result = result
    }

    func render() -> String {
        var out = "\(result.format.rawValue): \(result.config)"
        let timeout = result.timeout.map { $0 < 0 ? "wait" : "\($0)s" } ?? "none"
        out += " (\(result.entries.count) entries, timeout \(timeout))\n"
        if let proxy = result.proxy { out += "  proxy   \(proxy)\n" }
        for (i, entry) in result.entries.enumerated() {
            let mark = i == result.defaultIndex ? "*" : " "
            out += "\(mark) \(i)  \(entry.path.joined(separator: " > "))  [\(entry.id)]\n"
            if let kernel = entry.kernel { out += "      \(entry.kind == .multiboot ? "multiboot" : "kernel")  \(kernel)\n" }
            for initrd in entry.initrds { out += "      initrd  \(initrd)\n" }
            if let dtb = entry.devicetree { out += "      dtb     \(dtb)\n" }
            for module in entry.modules { out += "      module  \(module.resource) \(module.args)\n" }
            if !entry.args.isEmpty { out += "      args    \(entry.args)\n" }
        }
        return out
    }
}
