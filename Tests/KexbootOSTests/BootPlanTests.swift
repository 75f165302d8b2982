import Foundation
import Testing
import KexbootCore
@testable import KexbootOS

@Suite struct BootPlanTests {
    typealias S = BootPlan.Segment

    @Test(arguments: [
        ([S(mem: 0x100000, memsz: 0x2000, bufsz: 0x1800)], nil),
        ([S(mem: 0x100000, memsz: 0x1000, bufsz: 1), S(mem: 0x101000, memsz: 0x1000, bufsz: 0)], nil),
        ([S(mem: 0x100001, memsz: 0x1000, bufsz: 1)], "not page-aligned"),
        ([S(mem: 0x100000, memsz: 0x1001, bufsz: 1)], "not page-aligned"),
        ([S(mem: 0x100000, memsz: 0x1000, bufsz: 0x1001)], "holds"),
        ([S(mem: 0x100000, memsz: 0x2000, bufsz: 0), S(mem: 0x101000, memsz: 0x1000, bufsz: 0)], "overlap"),
        ([], "1 to 16"),
        (Array(repeating: S(mem: 0, memsz: 0x1000, bufsz: 0), count: 17), "1 to 16"),
        ([S(mem: 0xffff_ffff_ffff_f000, memsz: 0x2000, bufsz: 0)], "wraps"),
    ] as [([S], String?)])
    func segmentRules(segments: [S], error: String?) {
        // Give the 17-segment case distinct addresses so only the count is wrong.
        var segs = segments
        if segs.count == 17 { for i in segs.indices { segs[i].mem = UInt64(i) * 0x1000 } }
        do {
            // 4 KiB pages whatever the host's (a ppc64el kernel's are 64 KiB).
            try BootPlan.validate(segs, pageSize: 0x1000)
            #expect(error == nil)
        } catch let e as KexbootError {
            #expect(error.map { e.message.contains($0) } == true, "\(e.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    /// kexec_load wants the running kernel's page size: 4 KiB-aligned segments are
    /// refused on a 64 KiB-page (ppc64el) kernel, 64 KiB-aligned ones pass everywhere.
    @Test func segmentsAlignToTheKernelsPageSize() throws {
        // The kernel's own word for it, from another source than sysconf: smaps.
        let smaps = try String(contentsOfFile: "/proc/self/smaps", encoding: .utf8)
        let line = smaps.split(separator: "\n").first { $0.hasPrefix("KernelPageSize:") }
        let kib = line.flatMap { UInt64($0.split(separator: " ").dropFirst().first ?? "") }
        #expect(kib.map { $0 * 1024 } == BootPlan.pageSize)
        #expect(BootPlan.pageSize >= 0x1000 && BootPlan.pageSize.nonzeroBitCount == 1)
        let small = [S(mem: 0x101000, memsz: 0x1000, bufsz: 1)]
        try BootPlan.validate(small, pageSize: 0x1000)
        #expect { try BootPlan.validate(small, pageSize: 0x10000) } throws: {
            ($0 as? KexbootError)?.message.contains("not page-aligned (64 KiB pages)") == true
        }
        let large = [S(mem: 0x110000, memsz: 0x20000, bufsz: 0x1800)]
        try BootPlan.validate(large, pageSize: 0x10000)
        try BootPlan.validate(large)
    }

    @Test(arguments: [
        (Int32(38), true), (22, true), (8, true), (95, true), (129, false), (126, false), (74, false), (1, false), (5, false),
    ])
    func fallbackFollowsKexecTools(errno: Int32, fallsBack: Bool) {
        #expect((KexecFallback.decide(errno: errno) == .tryLoad) == fallsBack)
    }

    @Test func planChecksFilesAndCountsTheNUL() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kx-plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "kernel".write(toFile: dir + "/k", atomically: true, encoding: .utf8)
        try "a".write(toFile: dir + "/i1", atomically: true, encoding: .utf8)
        try "bb".write(toFile: dir + "/i2", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/empty", atomically: true, encoding: .utf8)
        let plan = try Kexec.plan(kernel: dir + "/k", initrds: [dir + "/i1", dir + "/i2"], devicetree: nil, commandLine: "root=/dev/vda2 ✓")
        #expect(plan.commandLineLength == "root=/dev/vda2 ✓".utf8.count + 1)
        #expect(plan.initrds.map(\.size) == [1, 2] && plan.flags.isEmpty)
        let bare = try Kexec.plan(kernel: dir + "/k", initrds: [], devicetree: nil, commandLine: "")
        #expect(bare.flags == ["KEXEC_FILE_NO_INITRAMFS"] && bare.commandLineLength == 1)
        #expect(throws: KexbootError.self) { try Kexec.plan(kernel: dir + "/missing", initrds: [], devicetree: nil, commandLine: "") }
        #expect(throws: KexbootError.self) { try Kexec.plan(kernel: dir + "/k", initrds: [dir + "/empty"], devicetree: nil, commandLine: "") }
        #expect(throws: KexbootError.self) { try Kexec.plan(kernel: dir, initrds: [], devicetree: nil, commandLine: "") }
    }

    @Test func initrdsConcatenateInOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kx-cat-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "first-".write(toFile: dir + "/a", atomically: true, encoding: .utf8)
        let big = String(repeating: "x", count: 3 << 20)
        try big.write(toFile: dir + "/b", atomically: true, encoding: .utf8)
        let fd = try Kexec.concatenate([dir + "/a", dir + "/b"])
        defer { close(fd) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        let data = handle.readDataToEndOfFile()
        #expect(data.count == 6 + (3 << 20))
        #expect(data.prefix(7) == Data("first-x".utf8))
    }
}
