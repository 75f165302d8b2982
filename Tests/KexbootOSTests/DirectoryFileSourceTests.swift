import Foundation
import Testing
import KexbootCore
@testable import KexbootOS

/// Real files and symlinks in a temporary directory: nothing outside the root is reachable.
@Suite struct DirectoryFileSourceTests {
    let base: String
    let root: String

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("kx-dfs-\(UUID().uuidString)").path
        root = base + "/root"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/boot/grub", withIntermediateDirectories: true)
        try "outside".write(toFile: base + "/secret", atomically: true, encoding: .utf8)
        try "cfg".write(toFile: root + "/boot/grub/grub.cfg", atomically: true, encoding: .utf8)
        try "kernel".write(toFile: root + "/boot/vmlinuz-6.1", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/vmlinuz", withDestinationPath: "boot/vmlinuz-6.1")
        try fm.createSymbolicLink(atPath: root + "/abs", withDestinationPath: "/boot/vmlinuz-6.1")
        try fm.createSymbolicLink(atPath: root + "/escape", withDestinationPath: "../secret")
        try fm.createSymbolicLink(atPath: root + "/escape-abs", withDestinationPath: base + "/secret")
        try fm.createSymbolicLink(atPath: root + "/loop", withDestinationPath: "loop")
        try fm.createSymbolicLink(atPath: root + "/boot/up", withDestinationPath: "../../../..")
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: base) }

    @Test func readsFilesAndRelativeAndAbsoluteSymlinksInside() throws {
        defer { cleanup() }
        let fs = DirectoryFileSource(root: root)
        #expect(try fs.read("/boot/grub/grub.cfg") == Array("cfg".utf8))
        #expect(try fs.read("/vmlinuz") == Array("kernel".utf8))
        // An absolute link target means the filesystem's root, not the host's.
        #expect(try fs.read("/abs") == Array("kernel".utf8))
        #expect(fs.info("/boot")?.kind == .directory)
        #expect(fs.info("/boot/vmlinuz-6.1")?.size == 6)
        #expect(fs.list("/boot") == ["grub", "up", "vmlinuz-6.1"])
    }

    @Test func dotDotAndSymlinksNeverEscape() throws {
        defer { cleanup() }
        let fs = DirectoryFileSource(root: root)
        #expect(throws: KexbootError.self) { try fs.read("/../secret") }
        // `../secret` from the root stays at the root: no such file there.
        #expect(throws: KexbootError.self) { try fs.read("/escape") }
        // An absolute target is taken inside the root, where it does not exist.
        #expect(throws: KexbootError.self) { try fs.read("/escape-abs") }
        #expect(fs.info("/boot/up")?.kind == .directory)
        #expect(fs.hostPath("/boot/up") == root)
        #expect(fs.info("/loop") == nil)
    }

    @Test func readLimitAndDirectoriesAreErrors() throws {
        defer { cleanup() }
        let fs = DirectoryFileSource(root: root)
        #expect(throws: KexbootError.self) { try fs.read("/boot/vmlinuz-6.1", limit: 3) }
        #expect(throws: KexbootError.self) { try fs.read("/boot/vmlinuz-6.1", limit: 5) }
        // Exactly at the limit is allowed; procfs files (size 0 in stat) are read to the end.
        #expect(try fs.read("/boot/vmlinuz-6.1", limit: 6) == Array("kernel".utf8))
        #expect(try DirectoryFileSource(root: "/").read("/proc/self/cmdline", limit: 1 << 16).isEmpty == false)
        #expect(throws: KexbootError.self) { try fs.read("/boot") }
    }

    @Test func caseInsensitiveLookup() throws {
        defer { cleanup() }
        let fs = DirectoryFileSource(root: root)
        #expect(fs.findCaseInsensitive("/BOOT/Grub/GRUB.CFG") == "/boot/grub/grub.cfg")
        #expect(fs.findCaseInsensitive("/boot/nothing") == nil)
    }
}
