/// GRUB's environment block (`grubenv`): a `# GRUB Environment Block` line, then
/// `name=value` lines (backslash escapes the next byte), padded with `#` to 1024 bytes.
enum GrubEnvBlock {
    static let signature = Array("# GRUB Environment Block\n".utf8)

    /// The variables in order, or `nil` when the bytes are not an environment block.
    static func parse(_ bytes: [UInt8]) -> [(String, String)]? {
        guard bytes.count >= signature.count, Array(bytes[0..<signature.count]) == signature else { return nil }
        var result: [(String, String)] = []
        var i = signature.count
        while i < bytes.count {
            if bytes[i] == 0x23 || bytes[i] == 0x0a {  // padding or an empty line
                while i < bytes.count && bytes[i] != 0x0a { i += 1 }
                i += 1
                continue
            }
            var line: [UInt8] = []
            while i < bytes.count && bytes[i] != 0x0a {
                if bytes[i] == 0x5c && i + 1 < bytes.count {
                    line.append(bytes[i + 1])
                    i += 2
                    continue
                }
                line.append(bytes[i])
                i += 1
            }
            i += 1
            guard let eq = line.firstIndex(of: 0x3d) else { continue }
            result.append((String(decoding: line[..<eq], as: UTF8.self), String(decoding: line[(eq + 1)...], as: UTF8.self)))
        }
        return result
    }
}
