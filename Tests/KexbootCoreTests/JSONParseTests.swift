import KexbootCore
import Testing

@Suite struct JSONParseTests {
    @Test func roundTripKeepsMemberOrder() throws {
        let value = JSONValue.object([
            ("z", .int(-5)), ("a", .array([.bool(true), .null, .string("tab\there \"q\" \\ é 😀 \u{1}")])),
            ("big", .uint(UInt64.max)), ("min", .int(Int.min)), ("empty", .object([])), ("none", .array([])),
        ])
        #expect(try JSONValue.parse(value.serialized()) == value)
        #expect(try JSONValue.parse(value.serialized(compact: true)) == value)
    }

    @Test(arguments: [
        ("\"\\u00e9\\n\\/\"", "é\n/"),
        ("\"\\ud83d\\ude00\"", "😀"),
        ("\"\\b\\f\\r\\t\"", "\u{8}\u{c}\r\t"),
    ])
    func escapes(text: String, expected: String) throws {
        #expect(try JSONValue.parse(text) == .string(expected))
    }

    @Test(arguments: [
        "", "{", "{\"a\"}", "{\"a\":1,}", "[1,]", "01", "1.5", "1e3", "-", "tru", "nul", "\"abc",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"", "{} {}", "{'a':1}", "18446744073709551616",
        "-9223372036854775809", "NaN", "[1 2]",
    ])
    func refused(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test func invalidUTF8InAStringIsRefused() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xff, 0xfe, 0x22]) }
    }

    @Test func depthIsBounded() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        _ = try JSONValue.parse(fine)
    }

    @Test func theErrorSaysWhere() {
        do {
            _ = try JSONValue.parse("{\"a\": x}")
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 6)
            #expect(error.description.hasPrefix("byte 7:"))
        }
    }

    @Test func aRepeatedKeyKeepsTheLastValueInTheFirstPlace() throws {
        #expect(try JSONValue.parse("{\"a\":1,\"b\":2,\"a\":3}") == .object([("a", .int(3)), ("b", .int(2))]))
    }

    @Test func accessors() throws {
        let v = try JSONValue.parse("{\"s\":\"x\",\"n\":7,\"b\":false,\"l\":[1]}")
        #expect(v["s"]?.stringValue == "x")
        #expect(v["n"]?.intValue == 7)
        #expect(v["b"]?.boolValue == false)
        #expect(v["l"]?.arrayValue == [.int(1)])
        #expect(v["s"]?.intValue == nil)
    }
}

@Suite struct JSONParseScaleTests {
    /// 100,000 distinct keys: linear, not quadratic (this took minutes before).
    @Test func manyKeysParseAndKeepOrder() throws {
        let keys = (0..<100_000).map { "k\($0)" }
        let text = "{" + keys.map { "\"\($0)\":0" }.joined(separator: ",") + ",\"k5\":1,\"k99999\":2}"
        let value = try JSONValue.parse(text)
        let members = try #require(value.objectMembers)
        #expect(members.count == 100_000)
        #expect(members[5].0 == "k5" && members[5].1 == .int(1))
        #expect(members[99_999].1 == .int(2))
        #expect(members.first?.0 == "k0")
    }
}
