import CMKJSON
import Foundation
import Testing

@Suite("JSON values")
struct JSONValueTests {
    @Test("jsonText sorts members by key bytes and is compact; prettyText keeps their order")
    func writing() throws {
        let value: JSONValue = ["b": [1, 2.5, "x"], "a": nil, "Z": ["y": true, "x": false]]
        #expect(value.jsonText == #"{"Z":{"x":false,"y":true},"a":null,"b":[1,2.5,"x"]}"#)
        #expect(value.prettyText == """
            {
              "b": [
                1,
                2.5,
                "x"
              ],
              "a": null,
              "Z": {
                "y": true,
                "x": false
              }
            }
            """)
        #expect(JSONValue.object([:]).prettyText == "{}")
        #expect(JSONValue.array([]).jsonText == "[]")
    }

    @Test("strings escape quotes, backslashes and control characters and keep every other byte")
    func stringEscapes() throws {
        let text = "q\"b\\n\nr\rt\t\u{1}\u{7F}é🔐/"
        #expect(JSONValue.string(text).jsonText == #""q\"b\\n\nr\rt\t\u0001"# + "\u{7F}é🔐/\"")
        #expect(try JSONValue(parsing: JSONValue.string(text).jsonText) == .string(text))
    }

    @Test("numbers: integers without a fraction, others as the shortest text that reads back")
    func numbers() throws {
        let cases: [(Double, String)] = [(0, "0"), (-0.0, "0"), (42, "42"), (-7, "-7"), (0.1, "0.1"), (2.5e-7, "2.5e-07"),
                                         (1e15, "1000000000000000.0"), (1e16, "1e+16"), (999_999_999_999_999, "999999999999999"), (.infinity, "null")]
        for (number, text) in cases {
            #expect(JSONValue.number(number).jsonText == text, "\(number)")
        }
        for text in ["0", "-0", "12345678901234567890", "1.7976931348623157e308", "5e-324", "0.30000000000000004", "-12.5E+3"] {
            let parsed = try JSONValue(parsing: text)
            #expect(parsed == .number(Double(text)!), "\(text)")
            #expect(try JSONValue(parsing: parsed.jsonText) == parsed, "\(text)")
        }
    }

    @Test("keys and strings compare by UTF-8 bytes: canonically equivalent keys stay two members")
    func byteWiseKeys() throws {
        let object = try JSONValue(parsing: #"{"caf\u00e9": 1, "cafe\u0301": 2}"#)
        #expect(object.objectValue?.count == 2)
        #expect(object["caf\u{E9}"] == 1)
        #expect(object["cafe\u{301}"] == 2)
        #expect(JSONValue.string("caf\u{E9}") != .string("cafe\u{301}"))
        #expect(Set([JSONValue.string("caf\u{E9}"), .string("cafe\u{301}")]).count == 2)
        // Members sort by bytes: "cafe\u{301}" (65 CC 81) before "caf\u{E9}" (C3 A9).
        #expect(object.jsonText == "{\"cafe\u{301}\":2,\"caf\u{E9}\":1}")
    }

    @Test("objects are equal and hash alike whatever their members' order")
    func unorderedEquality() throws {
        let first = try JSONValue(parsing: #"{"a": 1, "b": {"c": [1, 2], "d": null}}"#)
        let second = try JSONValue(parsing: #"{"b": {"d": null, "c": [1, 2]}, "a": 1}"#)
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(Set([first, second]).count == 1)
        #expect(first != (try JSONValue(parsing: #"{"a": 1, "b": {"c": [2, 1], "d": null}}"#)))
        #expect(first != (try JSONValue(parsing: #"{"a": 1}"#)))
        #expect(JSONValue.object(["a": 1]) != .object(["b": 1]))
    }

    @Test("a repeated key keeps its first place and takes the last value, however many members")
    func repeatedKeysWhenBuilding() {
        let literal: JSONObject = ["a": 1, "b": 2, "a": 3]
        #expect(literal.keys == ["a", "b"])
        #expect(literal["a"] == 3)
        let many = (0..<40).map { ("k\($0 % 30)", JSONValue.number(Double($0))) }
        let object = JSONObject(many)
        #expect(object.count == 30)
        #expect(object.keys.first == "k0")
        #expect(object["k0"] == 30)
        #expect(object["k29"] == 29)
    }

    @Test("members can be set, replaced in place and removed")
    func editing() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["c"] = 3
        object["a"] = "one"
        #expect(object.keys == ["a", "b", "c"])
        #expect(object.removeValue(forKey: "b") == 2)
        object["c"] = nil
        #expect(JSONValue.object(object).jsonText == #"{"a":"one"}"#)
    }

    @Test("values survive JSONEncoder and JSONDecoder inside Codable types")
    func codable() throws {
        struct Envelope: Codable, Equatable {
            let detail: JSONValue
        }
        let original = Envelope(detail: ["n": 1.5, "list": [true, nil, "s"], "nested": ["k": -3]])
        let decoded = try JSONDecoder().decode(Envelope.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
    }
}

@Suite("JSON reading")
struct JSONReadingTests {
    @Test("any top-level value, surrounded by whitespace")
    func topLevel() throws {
        #expect(try JSONValue(parsing: " \n\t\r 17 ") == 17)
        #expect(try JSONValue(parsing: #""s""#) == "s")
        #expect(try JSONValue(parsing: "null") == nil)
        #expect(try JSONValue(utf8: Data(#"[true, false, {"a": []}]"#.utf8)) == [true, false, ["a": []]])
    }

    @Test("escapes are resolved, surrogate pairs joined")
    func escapes() throws {
        let parsed = try JSONValue(parsing: #""\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\udd10""#)
        #expect(parsed == .string("\"\\/\u{8}\u{C}\n\r\tAé🔐"))
    }

    @Test("text outside RFC 8259 is refused, with the reason and the byte",
          arguments: [
            ("", JSONError.Code.malformed), ("{", .malformed), (#"{"a" 1}"#, .malformed), (#"{"a": 1,}"#, .malformed),
            ("[1,]", .malformed), ("[1 2]", .malformed), ("{a: 1}", .malformed), ("'a'", .malformed), ("01", .malformed),
            ("+1", .malformed), (".5", .malformed), ("1.", .malformed), ("1e", .malformed), ("-", .malformed), ("NaN", .malformed),
            ("Infinity", .malformed), ("tru", .malformed), ("nul", .malformed), ("1 2", .malformed), ("// c\n1", .malformed),
            ("\"a\u{1}b\"", .malformed), (#""\x""#, .malformed), (#""\u12""#, .malformed), (#""\u-000""#, .malformed),
            (#""\u+041""#, .malformed), (#""\ud800""#, .malformed), (#""\udc00""#, .malformed), (#""\ud800\u0041""#, .malformed),
            (#""unterminated"#, .malformed), (#"{"a": 1, "a": 2}"#, .duplicateKey), ("1e400", .numberOutOfRange),
            ("-1e400", .numberOutOfRange),
          ])
    func refuses(_ text: String, _ code: JSONError.Code) {
        let error = #expect(throws: JSONError.self, "\(text)") { try JSONValue(parsing: text) }
        #expect(error?.code == code, "\(text): \(error?.message ?? "")")
        #expect(error.map { $0.message.contains("at byte \($0.offset)") } == true)
    }

    @Test("bytes that are not UTF-8 are refused, raw or escaped into a string")
    func invalidUTF8() {
        for bytes in [[0x22, 0xFF, 0x22], [0x22, 0x61, 0xC3, 0x22], [0x22, 0x5C, 0x6E, 0xE9, 0x22]] as [[UInt8]] {
            let error = #expect(throws: JSONError.self) { try JSONValue(utf8: bytes) }
            #expect(error?.code == .invalidUTF8)
        }
    }

    @Test("a repeated key is refused in large objects too, where it is found through a set")
    func duplicateInLargeObject() {
        let members = (0..<50).map { "\"k\($0)\": \($0)" } + ["\"k7\": 0"]
        let error = #expect(throws: JSONError.self) { try JSONValue(parsing: "{" + members.joined(separator: ",") + "}") }
        #expect(error?.code == .duplicateKey)
        #expect(error?.message.contains("k7") == true)
    }

    @Test("nesting is limited: shallow documents to 64 levels, standard ones to 512")
    func depth() throws {
        func nested(_ levels: Int) -> String { String(repeating: "[", count: levels) + String(repeating: "]", count: levels) }
        _ = try JSONValue(parsing: nested(64), limits: .shallow)
        #expect(throws: JSONError.self) { try JSONValue(parsing: nested(65), limits: .shallow) }
        _ = try JSONValue(parsing: nested(512))
        let error = #expect(throws: JSONError.self) { try JSONValue(parsing: nested(513)) }
        #expect(error?.code == .tooDeep)
        let objects = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(throws: JSONError.self) { try JSONValue(parsing: objects, limits: .shallow) }
    }

    @Test("what the reader accepts, Foundation's reader reads as the same value")
    func agreesWithFoundation() throws {
        let text = #"{"s": "caf\u00e9 \ud83d\udd10", "n": [0, -1, 2.5, 1e3, 123456789012], "b": [true, false, null], "o": {"k": {}}}"#
        let ours = try JSONValue(parsing: text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(ours["s"]?.stringValue == theirs?["s"] as? String)
        #expect(ours["n"]?.arrayValue?.compactMap(\.numberValue) == (theirs?["n"] as? [NSNumber])?.map(\.doubleValue))
        #expect(ours["o"]?["k"] == .object([:]))
    }
}
