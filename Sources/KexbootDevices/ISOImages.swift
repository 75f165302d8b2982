import KexbootConfig
import KexbootCore
import KexbootOS

/// An ISO image file found on a filesystem, and the boot config read from inside it.
public struct ProbedISO: Sendable {
    /// Where the file is, from the top of the filesystem it was found on.
    public var path: String
    public var size: UInt64
    public var label: String?
    public var uuid: String?
    public var config: ParseResult?

    public var json: JSONValue {
        .object([
            ("path", .string(path)), ("size", .uint(size)), ("label", .optional(label)), ("uuid", .optional(uuid)),
            ("config", config?.json ?? .null),
        ])
    }

    /// `"isos": […]` for a probe object, only when there are some (an optional field).
    static func jsonMember(_ isos: [ProbedISO]) -> [(String, JSONValue)] {
        isos.isEmpty ? [] : [("isos", .array(isos.map(\.json)))]
    }
}

extension DiskProber {
    /// Where ISO images are looked for on a filesystem (names matched case-insensitively):
    /// the places people copy installer and live ISOs to on a USB stick. Not recursive.
    public static let isoDirectories = ["/", "/iso", "/isos", "/boot/iso", "/boot/isos", "/images"]
    /// At most this many images per filesystem are opened.
    public static let maxISOs = 32

    /// The ISO images in `isoDirectories`, each with the config inside it.
    func findISOs(in files: DirectoryFileSource, source: String, what: String) -> [ProbedISO] {
        var found: [ProbedISO] = []
        var seen = Set<String>()
        for wanted in Self.isoDirectories {
            guard let directory = files.findCaseInsensitive(wanted), files.info(directory)?.kind == .directory,
                  seen.insert(directory).inserted else { continue }
            for name in (files.list(directory) ?? []).sorted() where name.lowercased().hasSuffix(".iso") {
                let path = (directory == "/" ? "" : directory) + "/" + name
                guard let info = files.info(path), info.kind == .file, let host = files.hostPath(path) else { continue }
                guard found.count < Self.maxISOs else {
                    report(source, .warning, "\(what): more than \(Self.maxISOs) ISO images; \(path) and the rest were not read")
                    return found
                }
                guard let file = try? ReadOnlyFile(path: host), ISO9660.looksLikeImage(file) else {
                    report(source, .info, "\(what): \(path) is not an ISO 9660 image")
                    continue
                }
                let iso: ISO9660
                do {
                    iso = try ISO9660(file: file)
                } catch {
                    report(source, .warning, "\(what): \(path): \(error)")
                    continue
                }
                found.append(ProbedISO(path: path, size: UInt64(info.size), label: iso.label, uuid: iso.uuid,
                                       config: readISOConfig(iso, isoPath: path, source: source, what: "\(what): \(path)")))
            }
        }
        return found
    }

    /// The boot config inside an ISO image: `/boot/grub/loopback.cfg` first for an image
    /// in a file (the convention for booting ISOs from a file: it is read with `iso_path`
    /// set), else the usual search. Configs that do not know they are in a file get the
    /// kernel argument their initramfs needs to find it (`iso-scan/filename=`, `findiso=`).
    func readISOConfig(_ file: ReadOnlyFile, isoPath: String?, source: String, what: String) -> ParseResult? {
        do {
            return readISOConfig(try ISO9660(file: file), isoPath: isoPath, source: source, what: what)
        } catch {
            report(source, .warning, "\(what): \(error)")
            return nil
        }
    }

    func readISOConfig(_ iso: ISO9660, isoPath: String?, source: String, what: String) -> ParseResult? {
        var parser = self.parser
        parser.identity = DeviceIdentity(uuid: iso.uuid, label: iso.label)
        if let isoPath {
            parser.env.append(("iso_path", isoPath))
            if let loopback = iso.findCaseInsensitive("/boot/grub/loopback.cfg"),
               let result = try? parser.parse(files: iso, config: loopback, format: .grub), !result.entries.isEmpty {
                return result
            }
        }
        do {
            var result = try parser.parse(files: iso)
            if let isoPath {
                for i in result.entries.indices {
                    result.entries[i].args = Self.addingISOHint(to: result.entries[i].args, isoPath: isoPath)
                }
            }
            return result
        } catch let error as KexbootError where error.code == .notFound {
            report(source, .info, "\(what): no boot config inside")
            return nil
        } catch {
            report(source, .warning, "\(what): \(error)")
            return nil
        }
    }

    /// The argument a live system's initramfs reads to find its ISO in a file, for the
    /// families that have one: dracut (`root=live:`, `rd.live.image`) and casper
    /// (`boot=casper`) read `iso-scan/filename=`, Debian live-boot (`boot=live`) `findiso=`.
    /// Other command lines are left as they are.
    static func addingISOHint(to args: String, isoPath: String) -> String {
        let words = args.split(separator: " ")
        if words.contains(where: { $0.hasPrefix("iso-scan/filename=") || $0.hasPrefix("findiso=") }) { return args }
        let value = isoPath.contains(" ") ? "\"\(isoPath)\"" : isoPath
        let hint: String
        if words.contains(where: { $0.hasPrefix("root=live:") || $0 == "rd.live.image" || $0 == "boot=casper" }) {
            hint = "iso-scan/filename=" + value
        } else if words.contains("boot=live") {
            hint = "findiso=" + value
        } else {
            return args
        }
        return args.isEmpty ? hint : args + " " + hint
    }
}
