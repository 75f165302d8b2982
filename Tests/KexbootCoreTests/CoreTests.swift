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

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(SHA256.hex(Array(input.utf8)) == digest)
    }

    @Test func incrementalEqualsWholeAndAMillionAs() {
        var h = SHA256()
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(chunk) }
        #expect(h.finalize() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Odd-sized pieces across block boundaries.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var pieces = SHA256()
        var i = 0
        for size in [1, 63, 64, 65, 127, 200, 480] { pieces.update(data[i..<(i + size)]); i += size }
        #expect(pieces.finalize() == SHA256.hex(data))
    }
}
