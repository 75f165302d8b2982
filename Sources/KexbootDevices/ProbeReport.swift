import KexbootConfig
import KexbootCore
import KexbootOS

/// One partition as `kexboot probe` reports it (probe-json.md).
public struct ProbedPartition: Sendable {
    public var number: Int
    /// In 512-byte sectors.
    public var start: UInt64
    public var size: UInt64
    /// GPT type GUID in lower case, or the MBR type as `0x41`.
    public var type: String
    public var partlabel: String?
    public var partuuid: String?
    public var prep: Bool
    public var bootable: Bool
    public var fstype: String?
    public var uuid: String?
    public var label: String?
    public var payload: ELFFile?
    public var config: ParseResult?
    /// Where in the filesystem the config's `/` is: `""`, or a btrfs subvolume like `/@`.
    public var configRoot = ""
    /// ISO images found on the filesystem (in the directories `DiskProber.isoDirectories`).
    public var isos: [ProbedISO] = []
    /// The device node its filesystem was read through (`/dev/vda2`, `/dev/loop0p2`), when
    /// it was read. Not part of probe-json.md: the daemon boots through it.
    public var node: String?
}

/// One disk or image.
public struct ProbedDevice: Sendable {
    public var source: String
    public var pttype: String?
    /// In bytes.
    public var size: UInt64
    public var fstype: String?
    public var uuid: String?
    public var label: String?
    public var partitions: [ProbedPartition] = []
    /// For a bare filesystem: the config found on it.
    public var config: ParseResult?
    public var configRoot = ""
    /// ISO images found on the filesystem (in the directories `DiskProber.isoDirectories`).
    public var isos: [ProbedISO] = []
    /// The whole device node (the loop device for an image). Not part of probe-json.md.
    public var node: String?
}

public struct ProbeDiagnostic: Sendable, Hashable {
    public var source: String
    public var severity: Diagnostic.Severity
    public var message: String

    public init(source: String, severity: Diagnostic.Severity, message: String) {
        self.source = source
        self.severity = severity
        self.message = message
    }
}

extension ProbedPartition {
    public var json: JSONValue {
        .object([
            ("number", .int(number)),
            ("start", .uint(start)),
            ("size", .uint(size)),
            ("type", .string(type)),
            ("partlabel", .optional(partlabel)),
            ("partuuid", .optional(partuuid)),
            ("prep", .bool(prep)),
            ("bootable", .bool(bootable)),
            ("fstype", .optional(fstype)),
            ("uuid", .optional(uuid)),
            ("label", .optional(label)),
            ("payload", payload?.json ?? .null),
            ("config", config?.json ?? .null),
        ] + ProbedISO.jsonMember(isos))
    }
}

extension ProbedDevice {
    public var json: JSONValue {
        .object([
            ("source", .string(source)),
            ("pttype", .optional(pttype)),
            ("size", .uint(size)),
            ("fstype", .optional(fstype)),
            ("uuid", .optional(uuid)),
            ("label", .optional(label)),
            ("partitions", .array(partitions.map(\.json))),
            ("config", config?.json ?? .null),
        ] + ProbedISO.jsonMember(isos))
    }
}

extension ProbeDiagnostic {
    public var json: JSONValue {
        .object([("source", .string(source)), ("severity", .string(severity.rawValue)), ("message", .string(message))])
    }
}
