import Testing
import KexbootCore
@testable import KexbootConfig

/// The rules of parse-json.md's "GRUB semantics" section.
@Suite struct GrubSemanticsTests {
    /// A loader file name GRUB cannot open — a device without its `)`, a device with no
    /// path — is an error at its line; the entry stays in the menu with no kernel (booting
    /// it is refused), never with a kernel path made of the broken text.
    @Test func brokenDeviceNamesKeepTheEntryWithAnError() {
        let r = grub("""
        menuentry 'unclosed' {
            linux (uuid/vmlinuz root=/dev/sda1
            initrd /initrd.img
        }
        menuentry 'device only' {
            linux (hd0,1) ro
        }
        menuentry 'bad initrd' {
            linux /vmlinuz ro
            initrd /a.img (hd0,gpt2
        }
        menuentry 'bad module' {
            multiboot2 /xen.gz
            module2 ($root) dom0
        }
        menuentry 'fixed later' {
            linux (lvm/x
            linux /vmlinuz quiet
        }
        menuentry 'fine' {
            linux ($root)/vmlinuz
        }
        """)
        #expect(r.titles == ["unclosed", "device only", "bad initrd", "bad module", "fixed later", "fine"])
        #expect(r.kernels == ["-", "-", "-", "-", "/vmlinuz", "/vmlinuz"])
        #expect(r.entries[0].initrds.isEmpty && r.entries[0].args == "")
        #expect(r.entries[3].kind == .multiboot && r.entries[3].modules.isEmpty)
        #expect(r.entries[4].args == "quiet")
        let errors = r.diagnostics.filter { $0.severity == .error }
        #expect(errors.map { $0.location?.line } == [2, 6, 10, 14, 17])
        #expect(errors.allSatisfy { $0.location?.file == "/boot/grub/grub.cfg" && $0.message.contains("kept but cannot be booted") })
        #expect(errors[0].message.hasPrefix("linux: '(uuid/vmlinuz' has no ')'"))
        #expect(errors[1].message.hasPrefix("linux: '(hd0,1)' names a device but no file"))
        #expect(errors[2].message.hasPrefix("initrd: '(hd0,gpt2' has no ')'"))
        // No resource anywhere is made of the broken text.
        let entries = JSONValue.array(r.entries.map(\.json)).serialized()
        #expect(!entries.contains("uuid") && !entries.contains("hd0") && !entries.contains("lvm"))
        #expect(r.defaultIndex == 0)
    }

    @Test func bodiesRunAfterTheConfigFromItsFinalEnvironment() {
        let r = grub("""
        set kver=1
        for k in a b; do menuentry "$k" { linux /v-$k $kver; set kver=changed; }; done
        set kver=2
        menuentry 'last' { linux /last $kver; }
        """)
        #expect(r.titles == ["a", "b", "last"])
        #expect(r.kernels == ["/v-b", "/v-b", "/last"])
        // No entry sees another entry's changes.
        #expect(r.entries.map(\.args) == ["2", "2", "2"])
    }

    @Test func submenusSeeOnlyExportedVariables() {
        let r = grub("""
        set plain=p
        set shared=s
        export shared
        submenu 'S' {
          menuentry "in $1" { linux /k "[$plain]" "[$shared]"; }
          set default=1
        }
        """)
        #expect(r.titles == ["in S"])
        #expect(r.entries[0].args == "[] [s]")
    }

    @Test func presetsFollowTheSpec() {
        let r = grub("menuentry 'x' { linux /k $feature_menuentry_id $feature_timeout_style $grub_cpu $grub_platform $prefix $config_directory; }",
                     env: [("grub_platform", "pc")])
        #expect(r.entries[0].args == "y y x86_64 pc /boot/grub /boot/grub")
    }

    static let menu = """
    menuentry 'Zero' --id zero { linux /0; }
    menuentry 'Firmware' --id fw { fwsetup; }
    submenu 'Advanced' --id adv {
      menuentry 'A1' --id a1 { linux /a1; }
      menuentry 'A>2' --id a2 { linux /a2; }
    }
    menuentry 'Three' --id three { linux /3; }
    """

    @Test(arguments: [
        ("0", 0), ("3", 3), ("Three", 3), ("three", 3), ("2>1", 2), ("adv>a2", 2), ("Advanced>A>>2", 2),
        ("2", 1), ("adv", 1), ("adv>nothing", 1), ("2>0", 1), ("", 0),
    ])
    func defaults(spec: String, expected: Int) {
        let r = grub("set default=\"\(spec)\"\n" + Self.menu)
        #expect(r.titles == ["Zero", "A1", "A>2", "Three"])
        #expect(r.defaultIndex == expected, "default=\(spec)")
        #expect(!r.diagnostics.contains { $0.severity == .warning })
    }

    @Test(arguments: ["9", "nope", "1", "fw"])
    func defaultsThatNameNothingBootableFallBackWithAWarning(spec: String) {
        let r = grub("set default=\"\(spec)\"\n" + Self.menu)
        #expect(r.defaultIndex == 0)
        #expect(r.has(.warning, "default '\(spec)'"))
    }

    @Test func anEntryThatDoesNotParseIsNoMenuItem() {
        // GRUB never defines the broken entry, so `1` is the entry after it.
        let r = grub("set default=1\nmenuentry a { linux /a; }\nmenuentry broken { fi }\nmenuentry c { linux /c; }\n")
        #expect(r.titles == ["a", "c"])
        #expect(r.defaultIndex == 1)
    }

    @Test func defaultWarningPointsAtTheAssignment() {
        let r = grub("menuentry a { linux /a; }\n\nset default=nothing\n")
        let warning = r.diagnostics.first { $0.severity == .warning }
        #expect(warning?.location?.line == 3)
    }

    @Test func submenuDefaultInsideItsOwnContext() {
        let r = grub("set default=1\nmenuentry a { linux /a; }\nsubmenu s { set default=1; menuentry b { linux /b; }; menuentry c { linux /c; }; }\n")
        #expect(r.defaultIndex == 2)
    }

    /// Debian's 00_header logic, with the grubenv deciding.
    static let header = """
    if [ -s $prefix/grubenv ]; then
      set have_grubenv=true
      load_env
    fi
    if [ "${next_entry}" ] ; then
       set default="${next_entry}"
       set next_entry=
       save_env next_entry
       set boot_once=true
    else
       set default="${saved_entry}"
    fi
    menuentry 'A' --id a { linux /a; }
    submenu 'Adv' --id adv { menuentry 'B' --id b { linux /b; }; menuentry 'C' --id c { linux /c; }; }

    """

    static func grubenv(_ lines: String) -> String {
        let body = "# GRUB Environment Block\n" + lines
        return body + String(repeating: "#", count: 1024 - body.utf8.count)
    }

    @Test func savedEntryAndNextEntry() {
        let saved = grub(Self.header, files: ["/boot/grub/grubenv": Self.grubenv("saved_entry=adv>c\n")])
        #expect(saved.defaultIndex == 2)
        let next = grub(Self.header, files: ["/boot/grub/grubenv": Self.grubenv("saved_entry=adv>c\nnext_entry=adv>b\n")])
        #expect(next.defaultIndex == 1)
        let none = grub(Self.header)
        #expect(none.defaultIndex == 0)
        #expect(!none.diagnostics.contains { $0.severity != .info })
    }

    @Test(arguments: [("set timeout=5", 5), ("set timeout=-1", -1), ("set timeout=-5", -1), ("set timeout=0", 0)])
    func timeouts(line: String, expected: Int) {
        #expect(grub(line + "\nmenuentry a { linux /a; }").timeout == expected)
    }

    @Test func timeoutUnsetIsNullAndStyleIsReported() {
        #expect(grub("menuentry a { linux /a; }").timeout == nil)
        let r = grub("set timeout_style=hidden\nset timeout=0\nmenuentry a { linux /a; }")
        #expect(r.timeoutStyle == "hidden" && r.timeout == 0)
        #expect(grub("set timeout=soon\nmenuentry a { linux /a; }").has(.warning, "timeout 'soon'"))
    }

    @Test func idsAreMadeUnique() {
        let r = grub("menuentry a { linux /1; }\nmenuentry a { linux /2; }\nmenuentry 'x' --id a { linux /3; }\n")
        #expect(r.entries.map(\.id) == ["a", "a#2", "a#3"])
    }

    @Test func emptyConfigHasNullDefault() {
        let r = grub("# nothing\n")
        #expect(r.entries.isEmpty && r.defaultIndex == nil)
    }

    @Test func searchResolvedToThisDeviceGivesNullDevice() {
        let script = """
        search --no-floppy --fs-uuid --set=root 6f1c
        menuentry 'D' { linux /vmlinuz root=UUID=6f1c; initrd /initrd.img; }
        """
        let known = grub(script, uuid: "6F1C")
        #expect(known.entries[0].kernel == .file(device: nil, path: "/vmlinuz"))
        let unknown = grub(script, uuid: "other")
        #expect(unknown.entries[0].kernel == .file(device: "uuid:6f1c", path: "/vmlinuz"))
        #expect(unknown.entries[0].initrds == [.file(device: "uuid:6f1c", path: "/initrd.img")])
        let byLabel = grub("search --label --set=root BOOT\nmenuentry 'L' { linux /k; }", label: "BOOT")
        #expect(byLabel.entries[0].kernel == .file(device: nil, path: "/k"))
    }
}
