import Foundation

/// Runs real tools (compilers, sfdisk, mkfs, losetup) for tests that need real artifacts.
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    @discardableResult
    public static func run(_ command: String, input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("kx-sh-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL) }
        let handle = try FileHandle(forWritingTo: outURL)
        process.standardOutput = handle
        process.standardError = handle
        if let input {
            let inURL = dir.appendingPathComponent("kx-in-\(UUID().uuidString)")
            try input.write(to: inURL, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: inURL) }
            process.standardInput = try FileHandle(forReadingFrom: inURL)
            try process.run()
            process.waitUntilExit()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
        }
        try handle.close()
        let output = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "`\(command)` exited \(process.terminationStatus): \(output)")
        }
        return output
    }

    public static func temporaryDirectory(_ tag: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kx-\(tag)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

}
