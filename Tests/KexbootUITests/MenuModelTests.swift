import KexbootCore
import KexbootUI
import Testing

@Suite struct MenuModelTests {
    static let list = try! JSONValue.parse("""
        {"devices":[
          {"id":"vda2","type":"disk","label":"debian-boot","uuid":"1111","fstype":"ext4","size":536870912,"config":"/boot/grub/grub.cfg"},
          {"id":"sdb1","type":"usb","label":null,"uuid":"ABCD-0001","fstype":"vfat","size":1610612736,"config":"/syslinux.cfg"},
          {"id":"vdb1","type":"disk","label":"empty","uuid":null,"fstype":"xfs","size":1048576,"config":null}],
         "options":[
          {"id":"vda2#0","device":"vda2","default":false,"title":"Debian","path":["Debian"],"kind":"linux","kernel":{"device":null,"path":"/vmlinuz"},"initrds":[{"device":null,"path":"/initrd.img"}],"devicetree":null,"args":"ro quiet"},
          {"id":"vda2#1","device":"vda2","default":true,"title":"Recovery","path":["Advanced","Recovery"],"kind":"linux","kernel":{"device":"uuid:1111","path":"/vmlinuz"},"initrds":[],"devicetree":null,"args":"single"},
          {"id":"sdb1#0","device":"sdb1","default":true,"title":"Live","path":["Live"],"kind":"linux","kernel":{"url":"http://x/v"},"initrds":[],"devicetree":null,"args":""}],
         "default":"vda2#1",
         "autoboot":{"state":"counting","option":"vda2#1","title":"Recovery","seconds":7}}
        """)

    @Test func optionsAreGroupedUnderTheirDevicesAndEmptyDevicesLeftOut() {
        var m = MenuModel()
        m.update(list: Self.list)
        let rows = m.rows.map { row -> String in
            switch row {
            case .device(let d): "# " + d.heading
            case .option(let o): (o.isDefault ? "* " : "  ") + o.title
            }
        }
        #expect(rows == [
            "# vda2 · debian-boot · 512 MiB ext4 (disk)",
            "  Debian",
            "* Advanced > Recovery",
            "# sdb1 · ABCD-0001 · 1.5 GiB vfat (usb)",
            "  Live",
        ])
        #expect(m.selectedID == "vda2#1")
        #expect(m.selected?.kernel == "(uuid:1111)/vmlinuz")
        #expect(m.options[2].kernel == "http://x/v")
    }

    @Test func onlyTheDaemonsDefaultIsMarked() {
        var m = MenuModel()
        m.update(list: Self.list)
        #expect(m.options.filter(\.isDefault).map(\.id) == ["vda2#1"])
    }

    @Test func movementSkipsHeadingsAndStopsAtTheEnds() {
        var m = MenuModel()
        m.update(list: Self.list)
        m.move(1)
        #expect(m.selectedID == "sdb1#0")
        m.move(5)
        #expect(m.selectedID == "sdb1#0")
        m.move(-10)
        #expect(m.selectedID == "vda2#0")
        m.end()
        #expect(m.selectedID == "sdb1#0")
        m.home()
        #expect(m.selectedID == "vda2#0")
    }

    @Test func theSelectionStaysOnItsOptionAcrossUpdatesAndMovesWhenItGoes() throws {
        var m = MenuModel()
        m.update(list: Self.list)
        m.selectedID = "sdb1#0"
        m.update(list: Self.list)
        #expect(m.selectedID == "sdb1#0")
        var members = Self.list.objectMembers!
        members[1].1 = .array(Array(Self.list["options"]!.arrayValue!.prefix(2)))
        m.update(list: .object(members))
        #expect(m.selectedID == "vda2#1")
    }

    @Test func countdownText() throws {
        var m = MenuModel()
        m.update(list: Self.list)
        #expect(m.countdownText == "Booting Recovery in 7 s; any key stops it.")
        _ = m.apply(event: try JSONValue.parse(#"{"type":"event","event":"autoboot","data":{"state":"counting","option":"vda2#1","title":"Recovery","seconds":6}}"#))
        #expect(m.countdownText == "Booting Recovery in 6 s; any key stops it.")
        _ = m.apply(event: try JSONValue.parse(#"{"type":"event","event":"autoboot","data":{"state":"cancelled","option":null,"title":null,"seconds":null}}"#))
        #expect(m.countdownText == nil)
    }

    @Test func eventsThatChangeOptionsAskForAFreshList() throws {
        var m = MenuModel()
        for name in ["device-added", "device-removed", "option-added", "option-removed"] {
            #expect(m.apply(event: try JSONValue.parse(#"{"type":"event","event":"\#(name)","data":{"id":"x"}}"#)))
        }
        #expect(!m.apply(event: try JSONValue.parse(#"{"type":"event","event":"status","data":{"level":"error","message":"bad"}}"#)))
        #expect(m.status?.message == "bad")
        #expect(m.log == ["error: bad"])
    }

    @Test func progressBar() throws {
        var m = MenuModel()
        _ = m.apply(event: try JSONValue.parse(#"{"type":"event","event":"status","data":{"level":"progress","message":"copying","file":"/boot/vmlinuz","bytes":52,"total":100,"rate":3250586}}"#))
        let bar = try #require(m.progressText(width: 60))
        #expect(bar.hasPrefix("vmlinuz ["))
        #expect(bar.hasSuffix("] 52%  3.1 MiB/s"))
        #expect(bar.count <= 60)
        _ = m.apply(event: try JSONValue.parse(#"{"type":"event","event":"boot-started","data":{"title":"X"}}"#))
        #expect(m.progressText(width: 60) == nil)
    }
}

@Suite struct ScreenLayoutTests {
    func model() -> MenuModel {
        var m = MenuModel()
        m.update(list: MenuModelTests.list)
        return m
    }

    @Test(arguments: [(80, 24), (60, 20), (200, 60), (20, 6)])
    func everyLineFitsAndTheKeysAreOnTheBottom(cols: Int, rows: Int) {
        let lines = MainScreen(version: "1.0").lines(model(), rows: rows, cols: cols, scroll: 0, restricted: false)
        #expect(lines.count == rows)
        #expect(lines.allSatisfy { Columns.width($0.text) <= cols })
        #expect(lines.last?.style == .keys)
        #expect(lines[rows - 3].text.hasPrefix("Booting Recovery in 7 s") || cols < 30)
    }

    @Test func theSelectedOptionIsHighlightedAcrossTheWidth() {
        let lines = MainScreen(version: "1.0").lines(model(), rows: 24, cols: 80, scroll: 0, restricted: true)
        let selected = lines.filter { $0.style == .selected }
        #expect(selected.count == 1)
        #expect(selected.first?.text.hasPrefix("  * Advanced > Recovery") == true)
        #expect(Columns.width(selected.first!.text) == 80)
        #expect(lines[0].text.contains("(restricted)"))
    }

    @Test func scrollingKeepsTheSelectionInView() {
        var m = model()
        m.end()
        // Five rows, a list area of two: the last option and its heading.
        let top = MainScreen.scroll(m, listHeight: 2, current: 0)
        #expect(top == 3)
        m.home()
        #expect(MainScreen.scroll(m, listHeight: 2, current: 3) == 0)
    }

    @Test func wideCharactersCountTwoColumns() {
        #expect(Columns.width("日本語") == 6)
        #expect(Columns.fit("日本語テキスト", 7) == "日本語…")
        #expect(Columns.fit("abc", 5, pad: true) == "abc  ")
    }

    @Test func formsEditAtTheCursorAndHideSecrets() {
        var f = Form(title: "Edit", fields: [Form.Field("Kernel", "/vmlinuz"), Form.Field("Password", "", secret: true)])
        f.home()
        f.insert("x")
        #expect(f.value("Kernel") == "x/vmlinuz")
        f.end()
        f.backspace()
        #expect(f.value("Kernel") == "x/vmlinu")
        f.moveField(1)
        for c in "pw" { f.insert(c) }
        let (lines, cursor) = f.lines(rows: 10, cols: 40)
        #expect(lines.contains { $0.text.contains("**") && !$0.text.contains("pw") })
        #expect(cursor.0 == 3)
    }
}
