import KexbootArguments
import KexbootCore
import KexbootDevices
import KexbootOS

struct ELFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elf",
        abstract: "Describe an ELF file: class, machine, entry, segments and notes."
    )

    @Argument(help: "The ELF file.")
    var file: String

    @Flag(help: "Print the JSON object of probe-json.md.")
    var json = false

    func run() throws {
        let elf: ELFFile
        do {
            let f = try ReadOnlyFile(path: file)
            elf = try ELFFile(size: f.size) { offset, count in try f.read(at: offset, count: count) }
        } catch {
            writeError("kexboot elf: \(file): \(error)")
            throw ExitCode(1)
        }
        if json {
            print(elf.json.serialized())
            return
        }
        print("ELF\(elf.elfClass) \(elf.endian.rawValue)-endian \(elf.machineName ?? String(elf.machine)) \(elf.typeName), entry 0x\(String(elf.entry, radix: 16))\(elf.abi.map { ", ABI v\($0)" } ?? "")")
        for s in elf.segments {
            print("  \(s.typeName.padding(to: 12)) offset 0x\(String(s.offset, radix: 16)) paddr 0x\(String(s.paddr, radix: 16)) filesz \(s.filesz) memsz \(s.memsz) \(s.flagString)")
        }
        for n in elf.notes {
            var line = "  note \(n.name) type 0x\(String(n.type, radix: 16))"
            if let p = n.ppc1275 {
                line += " real-mode \(p.realMode) real-base \(p.realBase) real-size \(p.realSize) virt-base \(p.virtBase) virt-size \(p.virtSize) load-base \(p.loadBase)"
            }
            print(line)
        }
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
