import KexbootCore

/// What a kernel file is, read from its first bytes, and whether kexboot must inflate it
/// before `kexec_file_load` takes it. x86_64 loads a bzImage as it is; arm64 and RISC-V
/// load only an uncompressed `Image` (or ELF), yet distributions ship `vmlinuz` gzipped
/// (Debian's arm64 kernels) or as an EFI "zboot" image (a PE stub around a compressed
/// `Image`). Those are inflated into a memory file first.
public struct KernelImage: Hashable, Sendable {
    public enum Format: String, Sendable {
        case bzImage, image = "Image", elf = "ELF", gzip, zboot, unknown
    }

    public var format: Format
    /// The compressed payload inside the file (gzip: the whole file; zboot: its payload).
    public var payloadOffset: UInt64 = 0
    public var payloadSize: UInt64 = 0
    /// zboot's compression name (`gzip`, `zstd`, `lzma`, …).
    public var compression: String?

    /// Whether it is inflated before loading.
    public var needsInflating: Bool {
        format == .gzip || (format == .zboot && compression == "gzip")
    }

    /// The plan's words for it.
    public var description: String {
        switch format {
        case .gzip: "gzip (inflated before loading)"
        case .zboot: "EFI zboot, \(compression ?? "?")\(needsInflating ? " (inflated before loading)" : "")"
        default: format.rawValue
        }
    }

    /// Reads the header (`head`: the file's first bytes, 4 KiB is plenty) of a file of
    /// `size` bytes.
    public static func identify(_ head: [UInt8], size: UInt64) -> KernelImage {
        func le32(_ o: Int) -> UInt64 {
            guard o + 4 <= head.count else { return 0 }
            return UInt64(head[o]) | UInt64(head[o + 1]) << 8 | UInt64(head[o + 2]) << 16 | UInt64(head[o + 3]) << 24
        }
        func bytes(_ o: Int, _ text: String) -> Bool {
            let t = Array(text.utf8)
            return o + t.count <= head.count && Array(head[o..<(o + t.count)]) == t
        }
        if head.count >= 2, head[0] == 0x1F, head[1] == 0x8B {
            return KernelImage(format: .gzip, payloadOffset: 0, payloadSize: size)
        }
        // EFI zboot: "MZ", then "zimg", payload offset and size, compression name at 24.
        if bytes(0, "MZ"), bytes(4, "zimg") {
            let offset = le32(8), length = le32(12)
            let name = head.count > 24 ? String(decoding: head[24..<min(head.count, 56)].prefix { $0 != 0 }, as: UTF8.self) : ""
            return KernelImage(format: .zboot, payloadOffset: offset, payloadSize: length, compression: name)
        }
        if bytes(0x202, "HdrS") { return KernelImage(format: .bzImage) }
        if bytes(0x38, "ARM\u{64}") || bytes(0x38, "RSC\u{05}") { return KernelImage(format: .image) }
        if bytes(0, "\u{7F}ELF") { return KernelImage(format: .elf) }
        return KernelImage(format: .unknown)
    }

    /// Checks a zboot image's payload lies inside the file and is in a format kexboot
    /// inflates.
    public func validate(fileSize: UInt64, path: String) throws {
        guard format == .zboot else { return }
        guard payloadSize > 0, payloadOffset < fileSize, payloadSize <= fileSize - payloadOffset else {
            throw KexbootError(.invalidArgument, "\(path): EFI zboot payload (\(payloadSize) bytes at \(payloadOffset)) lies outside the file")
        }
        guard needsInflating else {
            throw KexbootError(.unsupported, "\(path): EFI zboot image compressed with \(compression ?? "?"); kexboot inflates gzip only")
        }
    }

    /// The largest kernel kexboot inflates (a decompression bomb stops here).
    public static let maxInflatedSize: UInt64 = 512 << 20
}
