import KexbootTestSupport
import Foundation
import Testing
import KexbootCore
@testable import KexbootDevices
@testable import KexbootOS

/// The device tree reader and writer against QEMU's own pseries tree and dtc.
@Suite(.serialized) struct DeviceTreeTests {
    let dir: String

    init() throws {
        dir = try Shell.temporaryDirectory("fdt")
    }

    /// The tree QEMU builds for a pseries machine (what kexboot reads from
    /// /sys/firmware/fdt there).
    func pseriesBlob() throws -> [UInt8] {
        try Shell.run("qemu-system-ppc64 -M pseries,dumpdtb=\(dir)/pseries.dtb -m 1G -nographic -vga none 2>&1 || true")
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/pseries.dtb")))
    }

    func dts(_ blob: [UInt8], _ name: String) throws -> String {
        try Data(blob).write(to: URL(fileURLWithPath: "\(dir)/\(name).dtb"))
        return try Shell.run("dtc -q -I dtb -O dts \(dir)/\(name).dtb")
    }

    @Test func pseriesTreeRoundTrips() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let blob = try pseriesBlob()
        let tree = try DeviceTree(parsing: blob)
        #expect(tree.node("/chosen") != nil)
        #expect(tree.node("/memory")?.name == "memory@0")
        #expect(tree.node("/cpus")?.children.isEmpty == false)
        #expect(tree.root.property("compatible").map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } == "qemu,pseries")
        let again = tree.serialized()
        // dtc reads ours and sees the same tree; reading ours back gives the same value.
        #expect(try dts(again, "again") == dts(blob, "orig"))
        #expect(try DeviceTree(parsing: again) == tree)
    }

    @Test func editsAreSeenByDtc() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var tree = try DeviceTree(parsing: try pseriesBlob())
        tree.edit("/chosen") {
            $0.set("bootargs", DeviceTree.string("console=hvc0 quiet"))
            $0.set("linux,initrd-start", DeviceTree.u64(0x2000_0000))
        }
        tree.edit("/kexboot/bundle") { $0.set("reg", DeviceTree.cells([0, 0x3000_0000, 0, 0x10000])) }
        tree.reservations.append((0x3000_0000, 0x10000))
        try Data(tree.serialized()).write(to: URL(fileURLWithPath: dir + "/edited.dtb"))
        #expect(try Shell.run("fdtget \(dir)/edited.dtb /chosen bootargs") == "console=hvc0 quiet\n")
        #expect(try Shell.run("fdtget -tx \(dir)/edited.dtb /chosen linux,initrd-start") == "0 20000000\n")
        #expect(try Shell.run("fdtget -tx \(dir)/edited.dtb /kexboot/bundle reg") == "0 30000000 0 10000\n")
        #expect(try Shell.run("dtc -q -I dtb -O dts \(dir)/edited.dtb").contains("/memreserve/\t0x0000000030000000 0x0000000000010000;"))
    }

    @Test func damagedBlobsAreErrors() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let blob = try pseriesBlob()
        #expect(throws: KexbootError.self) { try DeviceTree(parsing: Array(blob.prefix(100))) }
        #expect(throws: KexbootError.self) { try DeviceTree(parsing: [UInt8](repeating: 0, count: 64)) }
        // Random damage anywhere past the header: an error or a tree, never a crash.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var bad = blob
            for _ in 0..<8 { bad[Int.random(in: 40..<bad.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = try? DeviceTree(parsing: bad)
        }
        // A node that never ends.
        let open = DeviceTree(root: DeviceTree.Node(name: "", children: [DeviceTree.Node(name: "a")])).serialized()
        var truncated = open
        truncated.removeLast(8)  // END_NODE of the root and FDT_END
        #expect(throws: KexbootError.self) { try DeviceTree(parsing: truncated) }
    }

    /// Every offset and size field of a blob at 0xffffffff (and a property's length and
    /// name offset): each is an error, never a trap in `offset + size`.
    @Test func offsetsAndSizesAtTheirMaximumAreErrors() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tree = DeviceTree(root: DeviceTree.Node(name: "", properties: [DeviceTree.Property(name: "model", value: DeviceTree.string("x"))]))
        let blob = tree.serialized()
        #expect(try DeviceTree(parsing: blob) == tree)
        func patched(_ at: Int, _ value: UInt32) -> [UInt8] {
            var b = blob
            for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(3 - i))) }
            return b
        }
        // Header: total size, struct, strings and reservation offsets, strings and struct sizes.
        var bad = [4, 8, 12, 16, 32, 36].flatMap { [patched($0, .max), patched($0, 0x8000_0000), patched($0, 0xffff_fff0)] }
        // The property (after the reservation block's 16 bytes, FDT_BEGIN_NODE and the root's
        // empty name): its length, then its name's offset.
        let prop = 40 + 16 + 8
        #expect(Array(blob[prop..<(prop + 4)]) == [0, 0, 0, 3])
        bad += [patched(prop + 4, .max), patched(prop + 4, 0xffff_fffc), patched(prop + 8, .max), patched(prop + 8, 0x7fff_ffff)]
        for (i, b) in bad.enumerated() {
            #expect(throws: KexbootError.self, "case \(i)") { try DeviceTree(parsing: b) }
        }
    }
}
