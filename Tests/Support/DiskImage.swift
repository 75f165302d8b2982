import Foundation

/// Real disk images for tests: a GPT disk with one ext4 partition made by mkfs.ext4 from a
/// directory tree (nothing mounted on the host).
public enum DiskImage {
    /// Writes `files` (path in the filesystem → contents) into a new image `dir/name.img`
    /// and returns its path.
    public static func gptExt4(in dir: String, name: String, label: String, uuid: String? = nil, files: [String: String]) throws -> String {
        let tree = "\(dir)/\(name)-tree"
        for (path, contents) in files {
            let full = tree + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
        }
        let fs = "\(dir)/\(name).ext4", disk = "\(dir)/\(name).img"
        try Shell.run("truncate -s 24M \(fs) && mkfs.ext4 -q -F -L \(label) \(uuid.map { "-U \($0)" } ?? "") -d \(tree) \(fs)")
        try Shell.run("truncate -s 26M \(disk) && sfdisk -q \(disk)", input: "label: gpt\nstart=2048, size=24M, name=\(label)\n")
        try Shell.run("dd if=\(fs) of=\(disk) bs=512 seek=2048 conv=notrunc status=none && rm -rf \(fs) \(tree)")
        return disk
    }

    /// A GPT disk with one ext4 partition of `megabytes` made from the directory `tree`
    /// (left in place); returns the image's path.
    public static func gptExt4(in dir: String, name: String, label: String, tree: String, megabytes: Int) throws -> String {
        let fs = "\(dir)/\(name).ext4", disk = "\(dir)/\(name).img"
        try Shell.run("truncate -s \(megabytes)M \(fs) && mkfs.ext4 -q -F -L \(label) -d \(tree) \(fs)")
        try Shell.run("truncate -s \(megabytes + 2)M \(disk) && sfdisk -q \(disk)", input: "label: gpt\nstart=2048, size=\(megabytes)M, name=\(label)\n")
        try Shell.run("dd if=\(fs) of=\(disk) bs=512 seek=2048 conv=notrunc status=none && rm -f \(fs)")
        return disk
    }

    public static func sha256(_ path: String) throws -> String {
        String(try Shell.run("sha256sum \(path)").prefix(64))
    }

    /// A grub.cfg with the given entries (title, kernel command line), default `index`.
    public static func grubConfig(default index: Int, timeout: Int = 5, entries: [(String, String)], kernel: String = "/boot/vmlinuz") -> String {
        var text = "set default=\(index)\nset timeout=\(timeout)\n"
        for (title, args) in entries {
            text += "menuentry '\(title)' {\n  linux \(kernel) \(args)\n  initrd /boot/initrd.img\n}\n"
        }
        return text
    }
}
