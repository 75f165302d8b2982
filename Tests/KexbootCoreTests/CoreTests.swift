import Testing
@testable import KexbootCore

@Suite struct JSONValueTests {
    @Test(arguments: [
        ("plain", "\"plain\""),
        ("quote\"back\\slash", "\"quote\\\"back\\\\slash\""),
        ("tab\tnl\ncr\r", "\"tab\\tnl\\ncr\\r\""),
        ("\u{01}\u{1f}\u{7f}", "\"\\u0001\\u001f\\u007f\""),
        ("héllo ✓", "\"héllo ✓\""),
    ])
    func stringEscapes(input: String, expected: String) {
        #expect(JSONValue.string(input).serialized() == expected)
    }

    @Test func objectKeepsKeyOrderAndIndents() {
        let value = JSONValue.object([("b", .int(1)), ("a", .array([.null, .bool(true)])), ("e", .array([])), ("o", .object([]))])
        #expect(value.serialized() == """
        {
          "b": 1,
          "a": [
            null,
            true
          ],
          "e": [],
          "o": {}
        }
        """)
        #expect(value.serialized(compact: true) == #"{"b":1,"a":[null,true],"e":[],"o":{}}"#)
    }

    @Test func resourceForms() {
        #expect(Resource.file(device: nil, path: "/vmlinuz").json.serialized(compact: true) == #"{"device":null,"path":"/vmlinuz"}"#)
        #expect(Resource.url("tftp://10.0.2.2/k").json.serialized(compact: true) == #"{"url":"tftp://10.0.2.2/k"}"#)
        let module = BootModule(resource: .file(device: "uuid:x", path: "/m"), args: "a b")
        #expect(module.json.serialized(compact: true) == #"{"device":"uuid:x","path":"/m","args":"a b"}"#)
    }

    @Test func diagnosticForms() {
        let d = Diagnostic(.warning, "unknown command 'foo'", at: SourceLocation(file: "/g.cfg", line: 3, column: 5))
        #expect(d.description == "/g.cfg:3:5: warning: unknown command 'foo'")
        #expect(d.json.serialized(compact: true) == #"{"file":"/g.cfg","line":3,"column":5,"severity":"warning","message":"unknown command 'foo'"}"#)
        let whole = Diagnostic(.info, "not found", file: "/x")
        #expect(whole.description == "/x: info: not found")
        #expect(whole.json["line"] == .null)
    }
}

@Suite struct PathTests {
    @Test(arguments: [
        ("/", "/"), ("", "/"), ("//boot//grub/", "/boot/grub"), ("/boot/./grub/../vmlinuz", "/boot/vmlinuz"),
        ("/../../etc", "/etc"), ("relative/x", "/relative/x"),
    ])
    func normalize(input: String, expected: String) {
        #expect(Path.normalize(input) == expected)
    }

    @Test func directoryAndJoin() {
        #expect(Path.directory("/boot/grub/grub.cfg") == "/boot/grub")
        #expect(Path.directory("/grub.cfg") == "/")
        #expect(Path.basename("/boot/grub/grub.cfg") == "grub.cfg")
        #expect(Path.join("/boot/grub", "../x") == "/boot/x")
        #expect(Path.join("/boot/grub", "/abs") == "/abs")
    }
}
