import KexbootCore

/// A flattened device tree (DTB, version 17): read, edited, written back. kexboot reads
/// the running machine's tree (`/sys/firmware/fdt`), edits `/chosen` for the kernel or
/// payload it boots, and hands the result over in memory.
///
/// Every offset and length comes from the blob and is checked; a damaged blob is an error
/// with the offset it went wrong at, never a crash.
public struct DeviceTree: Hashable, Sendable {
    public struct Property: Hashable, Sendable {
        public var name: String
        public var value: [UInt8]

        public init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    public struct Node: Hashable, Sendable {
        /// `memory@0`, `chosen`; the root's name is empty.
        public var name: String
        public var properties: [Property] = []
        public var children: [Node] = []

        public init(name: String, properties: [Property] = [], children: [Node] = []) {
            self.name = name
            self.properties = properties
            self.children = children
        }

        public func property(_ name: String) -> [UInt8]? {
            properties.first { $0.name == name }?.value
        }

        public mutating func set(_ name: String, _ value: [UInt8]) {
            if let i = properties.firstIndex(where: { $0.name == name }) {
                properties[i].value = value
            } else {
                properties.append(Property(name: name, value: value))
            }
        }

        public mutating func remove(_ name: String) {
            properties.removeAll { $0.name == name }
        }
    }

    public static let magic: UInt32 = 0xD00D_FEED
    public var root: Node
    /// The memory reservation block: (address, size) pairs.
    public var reservations: [(address: UInt64, size: UInt64)]
    public var bootCPU: UInt32

    public init(root: Node = Node(name: ""), reservations: [(address: UInt64, size: UInt64)] = [], bootCPU: UInt32 = 0) {
        self.root = root
        self.reservations = reservations
        self.bootCPU = bootCPU
    }

    public static func == (a: DeviceTree, b: DeviceTree) -> Bool {
        a.root == b.root && a.bootCPU == b.bootCPU && a.reservations.elementsEqual(b.reservations) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(root)
        hasher.combine(bootCPU)
    }

    // MARK: Reading

    static let maxDepth = 64
    static let maxNodes = 100_000

    public init(parsing blob: [UInt8]) throws {
        func fail(_ message: String) -> KexbootError { KexbootError(.invalidArgument, "device tree: \(message)") }
        func be32(_ o: Int) throws -> UInt32 {
            guard o >= 0, o + 4 <= blob.count else { throw fail("offset \(o) lies outside the blob") }
            return UInt32(blob[o]) << 24 | UInt32(blob[o + 1]) << 16 | UInt32(blob[o + 2]) << 8 | UInt32(blob[o + 3])
        }
        func be64(_ o: Int) throws -> UInt64 { UInt64(try be32(o)) << 32 | UInt64(try be32(o + 4)) }
        guard blob.count >= 40, try be32(0) == Self.magic else { throw fail("no FDT magic") }
        let total = Int(try be32(4))
        guard total <= blob.count, total >= 40 else { throw fail("total size \(total) but \(blob.count) bytes") }
        let structOff = Int(try be32(8)), stringsOff = Int(try be32(12)), rsvOff = Int(try be32(16))
        let version = try be32(20), lastCompatible = try be32(24)
        guard version >= 16, lastCompatible <= 17 else { throw fail("version \(version) (compatible with \(lastCompatible)) is not read") }
        let stringsSize = Int(try be32(32))
        // Version 16 (what Linux's prom_init builds on POWER) has no struct-block size: the
        // block runs up to the strings, or to the end when the strings come first.
        let structSize = version >= 17 ? Int(try be32(36)) : (stringsOff > structOff ? stringsOff : total) - structOff
        guard structSize >= 0, structOff + structSize <= total, stringsOff + stringsSize <= total, rsvOff < total else {
            throw fail("blocks lie outside the blob")
        }
        bootCPU = try be32(28)
        var reservations: [(address: UInt64, size: UInt64)] = []
        var r = rsvOff
        while true {
            let address = try be64(r), size = try be64(r + 8)
            r += 16
            if address == 0 && size == 0 { break }
            reservations.append((address, size))
            guard reservations.count < 4096 else { throw fail("memory reservation block without an end") }
        }
        self.reservations = reservations
        func string(at offset: Int, limit: Int) throws -> String {
            guard offset >= 0, offset < limit else { throw fail("string offset \(offset) lies outside its block") }
            var end = offset
            while end < limit, blob[end] != 0 { end += 1 }
            guard end < limit else { throw fail("unterminated string at \(offset)") }
            return String(decoding: blob[offset..<end], as: UTF8.self)
        }
        var stack: [Node] = []
        var finished: Node?
        var at = structOff
        let structEnd = structOff + structSize
        var nodes = 0
        scan: while true {
            guard at + 4 <= structEnd else { throw fail("structure block ends without FDT_END") }
            let token = try be32(at)
            at += 4
            switch token {
            case 1:  // FDT_BEGIN_NODE
                let name = try string(at: at, limit: structEnd)
                // By the raw bytes: a name that is not UTF-8 decodes to a different length.
                var end = at
                while blob[end] != 0 { end += 1 }
                at += (end - at + 1 + 3) & ~3
                nodes += 1
                guard stack.count < Self.maxDepth, nodes <= Self.maxNodes else { throw fail("nested too deep or too many nodes") }
                guard finished == nil else { throw fail("a second root node at \(at)") }
                stack.append(Node(name: name))
            case 2:  // FDT_END_NODE
                guard let node = stack.popLast() else { throw fail("FDT_END_NODE without a node at \(at - 4)") }
                if stack.isEmpty { finished = node } else { stack[stack.count - 1].children.append(node) }
            case 3:  // FDT_PROP
                let length = Int(try be32(at)), nameOffset = Int(try be32(at + 4))
                at += 8
                guard length >= 0, at + length <= structEnd else { throw fail("property of \(length) bytes at \(at) overruns the block") }
                guard !stack.isEmpty else { throw fail("property outside any node at \(at)") }
                let name = try string(at: stringsOff + nameOffset, limit: stringsOff + stringsSize)
                stack[stack.count - 1].properties.append(Property(name: name, value: Array(blob[at..<(at + length)])))
                at += (length + 3) & ~3
            case 4:  // FDT_NOP
                continue
            case 9:  // FDT_END
                break scan
            default:
                throw fail("unknown token \(token) at \(at - 4)")
            }
        }
        guard stack.isEmpty, let root = finished else { throw fail("the root node is not closed") }
        self.root = root
    }

    // MARK: Writing

    /// The blob, version 17, strings shared, properties in their order.
    public func serialized() -> [UInt8] {
        var structure: [UInt8] = []
        var strings: [UInt8] = []
        var stringOffsets: [String: Int] = [:]
        func put32(_ v: UInt32, _ out: inout [UInt8]) {
            out += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        func pad(_ out: inout [UInt8]) { while out.count % 4 != 0 { out.append(0) } }
        func emit(_ node: Node) {
            put32(1, &structure)
            structure += Array(node.name.utf8) + [0]
            pad(&structure)
            for p in node.properties {
                put32(3, &structure)
                put32(UInt32(p.value.count), &structure)
                let offset: Int
                if let known = stringOffsets[p.name] {
                    offset = known
                } else {
                    offset = strings.count
                    stringOffsets[p.name] = offset
                    strings += Array(p.name.utf8) + [0]
                }
                put32(UInt32(offset), &structure)
                structure += p.value
                pad(&structure)
            }
            for child in node.children { emit(child) }
            put32(2, &structure)
        }
        emit(root)
        put32(9, &structure)
        var rsv: [UInt8] = []
        for (address, size) in reservations + [(0, 0)] {
            put32(UInt32(address >> 32), &rsv); put32(UInt32(address & 0xFFFF_FFFF), &rsv)
            put32(UInt32(size >> 32), &rsv); put32(UInt32(size & 0xFFFF_FFFF), &rsv)
        }
        let rsvOff = 40  // 8-byte aligned after the header
        let structOff = rsvOff + rsv.count
        let stringsOff = structOff + structure.count
        let total = stringsOff + strings.count
        var out: [UInt8] = []
        for v in [Self.magic, UInt32(total), UInt32(structOff), UInt32(stringsOff), UInt32(rsvOff), 17, 16, bootCPU,
                  UInt32(strings.count), UInt32(structure.count)] { put32(v, &out) }
        return out + rsv + structure + strings
    }

    // MARK: Paths

    /// The node at `/a/b@1`; a component without a unit address also matches `b@…`.
    public func node(_ path: String) -> Node? {
        var node = root
        for component in path.split(separator: "/") {
            guard let next = node.children.first(where: { $0.name == component })
                    ?? node.children.first(where: { $0.name.split(separator: "@").first.map(String.init) == String(component) })
            else { return nil }
            node = next
        }
        return node
    }

    /// Changes the node at `path`, creating missing nodes on the way.
    public mutating func edit(_ path: String, _ change: (inout Node) -> Void) {
        func descend(_ node: inout Node, _ parts: ArraySlice<Substring>) {
            guard let first = parts.first else { return change(&node) }
            if let i = node.children.firstIndex(where: { $0.name == first }) {
                descend(&node.children[i], parts.dropFirst())
            } else {
                var child = Node(name: String(first))
                descend(&child, parts.dropFirst())
                node.children.append(child)
            }
        }
        descend(&root, path.split(separator: "/")[...])
    }

    // MARK: Values

    public static func string(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
    public static func cells(_ values: [UInt32]) -> [UInt8] {
        values.flatMap { [UInt8($0 >> 24), UInt8($0 >> 16 & 0xFF), UInt8($0 >> 8 & 0xFF), UInt8($0 & 0xFF)] }
    }
    public static func u64(_ value: UInt64) -> [UInt8] { cells([UInt32(value >> 32), UInt32(value & 0xFFFF_FFFF)]) }

    /// A 4- or 8-byte big-endian number (a `linux,initrd-start`, a `linux,kernel-end`).
    public static func number(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 4 || bytes.count == 8 else { return nil }
        return bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// The first range of `/memory@0 reg` (on pseries, the real mode area).
    public func firstMemoryRange() throws -> (start: UInt64, end: UInt64) {
        func cells(_ name: String) -> Int {
            guard let v = root.property(name), v.count == 4 else { return name == "#address-cells" ? 2 : 1 }
            return Int(v[3]) | Int(v[2]) << 8
        }
        let ac = cells("#address-cells"), sc = cells("#size-cells")
        guard let memory = node("/memory@0") ?? node("/memory"), let reg = memory.property("reg"), reg.count >= 4 * (ac + sc),
              ac <= 2, sc <= 2 else {
            throw KexbootError(.notFound, "the device tree has no /memory node with a reg")
        }
        func number(_ at: Int, _ n: Int) -> UInt64 {
            (0..<(4 * n)).reduce(UInt64(0)) { $0 << 8 | UInt64(reg[at + $1]) }
        }
        let start = number(0, ac), size = number(4 * ac, sc)
        guard start <= UInt64.max - size else { throw KexbootError(.invalidArgument, "/memory reg wraps around") }
        return (start, start + size)
    }
}
