import KexbootCore

extension ELFFile.Segment {
    public var typeName: String {
        switch type {
        case 0: "null"
        case 1: "load"
        case 2: "dynamic"
        case 3: "interp"
        case 4: "note"
        case 5: "shlib"
        case 6: "phdr"
        case 7: "tls"
        case 0x6474e550: "gnu_eh_frame"
        case 0x6474e551: "gnu_stack"
        case 0x6474e552: "gnu_relro"
        case 0x6474e553: "gnu_property"
        default: String(type)
        }
    }

    /// `r`, `w`, `x` or `-` for each permission.
    public var flagString: String {
        (flags & 4 != 0 ? "r" : "-") + (flags & 2 != 0 ? "w" : "-") + (flags & 1 != 0 ? "x" : "-")
    }
}

extension ELFFile {
    /// The object of probe-json.md's `kexboot elf`.
    public var json: JSONValue {
        .object([
            ("class", .int(elfClass)),
            ("endian", .string(endian.rawValue)),
            ("machine", machineName.map(JSONValue.string) ?? .int(Int(machine))),
            ("type", .string(typeName)),
            ("entry", .uint(entry)),
            ("abi", .optional(abi)),
            ("segments", .array(segments.map { s in
                .object([
                    ("type", .string(s.typeName)),
                    ("offset", .uint(s.offset)),
                    ("vaddr", .uint(s.vaddr)),
                    ("paddr", .uint(s.paddr)),
                    ("filesz", .uint(s.filesz)),
                    ("memsz", .uint(s.memsz)),
                    ("flags", .string(s.flagString)),
                ])
            })),
            ("notes", .array(notes.map { n in
                var members: [(String, JSONValue)] = [("name", .string(n.name)), ("type", .int(Int(n.type)))]
                if let p = n.ppc1275 {
                    members.append(("ppc1275", .object([
                        ("real_mode", .int(Int(p.realMode))), ("real_base", .int(Int(p.realBase))),
                        ("real_size", .int(Int(p.realSize))), ("virt_base", .int(Int(p.virtBase))),
                        ("virt_size", .int(Int(p.virtSize))), ("load_base", .int(Int(p.loadBase))),
                    ])))
                }
                return .object(members)
            })),
        ])
    }
}
