import KexbootCore
import KexbootProtocol
import Testing

@Suite struct LineFramerTests {
    static let stream = Array("{\"id\":1,\"request\":\"list\"}\n{\"id\":2}\r\n\n{\"a\":\"é\"}\n".utf8)

    func lines(_ outputs: [LineFramer.Output]) -> [String] {
        outputs.compactMap { if case .line(let l) = $0 { String(decoding: l, as: UTF8.self) } else { nil } }
    }

    @Test func wholeStreamAtOnce() {
        var f = LineFramer()
        #expect(lines(f.feed(Self.stream)) == ["{\"id\":1,\"request\":\"list\"}", "{\"id\":2}", "", "{\"a\":\"é\"}"])
        #expect(f.pending == 0)
    }

    @Test func oneByteAtATimeGivesTheSameLines() {
        var f = LineFramer()
        var out: [LineFramer.Output] = []
        for b in Self.stream { out += f.feed([b]) }
        var g = LineFramer()
        #expect(out == g.feed(Self.stream))
    }

    @Test(arguments: [1, 2, 3, 7, 13, 64])
    func anySplitGivesTheSameLines(chunk: Int) {
        var f = LineFramer()
        var out: [LineFramer.Output] = []
        var i = 0
        while i < Self.stream.count {
            out += f.feed(Self.stream[i..<min(i + chunk, Self.stream.count)])
            i += chunk
        }
        #expect(lines(out).count == 4)
        #expect(lines(out)[3] == "{\"a\":\"é\"}")
    }

    @Test func manyMessagesInOneRead() {
        var text = ""
        for i in 0..<1000 { text += "{\"id\":\(i)}\n" }
        var f = LineFramer()
        let out = lines(f.feed(Array(text.utf8)))
        #expect(out.count == 1000)
        #expect(out[999] == "{\"id\":999}")
    }

    @Test func aLineOfExactlyTheLimitPasses() {
        var f = LineFramer(maxLine: 10)
        #expect(f.feed(Array("0123456789\n".utf8)) == [.line(Array("0123456789".utf8))])
        #expect(!f.failed)
    }

    @Test func aLineOverTheLimitFailsOnceAndStops() {
        var f = LineFramer(maxLine: 10)
        #expect(f.feed(Array("01234567890\nok\n".utf8)) == [.oversized])
        #expect(f.failed)
        #expect(f.feed(Array("more\n".utf8)) == [])
    }

    @Test func anOverlongLineIsCaughtBeforeItsNewlineArrives() {
        var f = LineFramer(maxLine: 10)
        #expect(f.feed(Array("0123456789".utf8)) == [])
        #expect(f.feed(Array("ab".utf8)) == [.oversized])
        #expect(f.pending == 0)
    }

    @Test func linesBeforeAnOversizedOneAreKept() {
        var f = LineFramer(maxLine: 4)
        #expect(f.feed(Array("ab\nabcdefgh".utf8)) == [.line(Array("ab".utf8)), .oversized])
    }
}

@Suite struct RequestDecodingTests {
    @Test(arguments: [
        ("not json", "malformed"),
        ("[1,2]", "malformed"),
        ("{\"request\":\"list\"}", "malformed"),
        ("{\"id\":[1],\"request\":\"list\"}", "malformed"),
        ("{\"id\":1}", "malformed"),
        ("{\"id\":1,\"request\":\"list\",\"params\":[]}", "invalid-params"),
        ("{\"id\":1.5,\"request\":\"list\"}", "malformed"),
    ])
    func malformed(line: String, code: String) {
        guard case .failure(let e) = Request.decode(Array(line.utf8)) else {
            Issue.record("\(line) decoded")
            return
        }
        #expect(e.code.rawValue == code)
        #expect(e.response["type"] == .string("response"))
        #expect(e.response["ok"] == .bool(false))
    }

    @Test func theIdComesBackInTheErrorWhenItWasReadable() {
        guard case .failure(let e) = Request.decode(Array("{\"id\":\"abc\",\"request\":7}".utf8)) else {
            Issue.record("decoded")
            return
        }
        #expect(e.id == .string("abc"))
    }

    @Test func aGoodRequest() throws {
        let r = try Request.decode(Array("{\"id\":\"x-1\",\"request\":\"boot\",\"params\":{\"option\":\"vda2#1\"}}".utf8)).get()
        #expect(r.id == .string("x-1"))
        #expect(r.name == "boot")
        #expect(r.string("option") == "vda2#1")
    }

    @Test func paramsDefaultToAnEmptyObject() throws {
        let r = try Request.decode(Array("{\"id\":3,\"request\":\"list\"}".utf8)).get()
        #expect(r.params == .object([]))
    }

    @Test func messagesAreOneLineOfJSON() throws {
        let hello = ProtocolV1.hello(server: "1.0", capabilities: ["list"], access: "full", authRequired: false)
        let text = hello.serialized(compact: true)
        #expect(!text.contains("\n"))
        #expect(try JSONValue.parse(text) == hello)
        #expect(hello["protocol"] == .int(1))
        let error = ProtocolV1.error(id: .int(4), .notFound, "line\nbreak")
        #expect(!error.serialized(compact: true).contains("\n"))
        #expect(error["error"]?["code"] == .string("not-found"))
    }
}
