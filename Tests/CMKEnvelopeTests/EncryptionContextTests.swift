@testable import CMKEnvelope
import Testing

@Suite("Encryption context")
struct EncryptionContextTests {
    @Test("pairs are sorted by UTF-8 bytes, not by Swift's String order")
    func byteOrder() throws {
        // "é" (U+00E9, C3 A9) sorts after "z" by bytes; "e\u{301}" (65 CC 81) before it.
        let context = try EncryptionContext([("z", "1"), ("caf\u{E9}", "2"), ("cafe\u{301}", "3"), ("B", "4"), ("a", "5")])
        #expect(context.pairs.map { Array($0.key.utf8) } == [Array("B".utf8), Array("a".utf8), Array("cafe\u{301}".utf8), Array("caf\u{E9}".utf8), Array("z".utf8)])
    }

    @Test("keys that differ only by normalization stay distinct; byte-identical keys are refused")
    func normalization() throws {
        let context = try EncryptionContext([("caf\u{E9}", "nfc"), ("cafe\u{301}", "nfd")])
        #expect(context.count == 2)
        #expect(context["caf\u{E9}"] == "nfc")
        #expect(context["cafe\u{301}"] == "nfd")
        #expect(!context.contains(try EncryptionContext([("caf\u{E9}", "nfd")])))
        #expect(throws: EnvelopeError.self) { try EncryptionContext([("k", "1"), ("k", "2")]) }
    }

    @Test("serialization round trips and the parser refuses unsorted or duplicate keys")
    func serialization() throws {
        let context = try EncryptionContext([("b", "2"), ("a", "1")])
        let bytes = try context.serialized()
        #expect(bytes == [0, 2, 0, 1, 0x61, 0, 1, 0x31, 0, 1, 0x62, 0, 1, 0x32])
        #expect(try EncryptionContext(parsing: bytes[...]) == context)
        #expect(try EncryptionContext.empty.serialized().isEmpty)
        let unsorted: [UInt8] = [0, 2, 0, 1, 0x62, 0, 1, 0x32, 0, 1, 0x61, 0, 1, 0x31]
        #expect(throws: (any Error).self) { try EncryptionContext(parsing: unsorted[...]) }
        let duplicate: [UInt8] = [0, 2, 0, 1, 0x61, 0, 1, 0x31, 0, 1, 0x61, 0, 1, 0x32]
        #expect(throws: (any Error).self) { try EncryptionContext(parsing: duplicate[...]) }
        let badUTF8: [UInt8] = [0, 1, 0, 1, 0xFF, 0, 0]
        #expect(throws: (any Error).self) { try EncryptionContext(parsing: badUTF8[...]) }
    }

    @Test("a JSON object keeps every key's exact bytes, escapes included")
    func json() throws {
        let text = #"{"caf\u00e9": "nfc", "cafe\u0301": "nfd", "emoji": "\ud83d\udd10", "quote\"": "a\\b\n"}"#
        let context = try EncryptionContext(jsonObject: Array(text.utf8))
        #expect(context.count == 4)
        #expect(context["cafe\u{301}"] == "nfd")
        #expect(context["emoji"] == "🔐")
        #expect(context["quote\""] == "a\\b\n")
        #expect(try EncryptionContext(jsonObject: Array(context.jsonObject.utf8)) == context)
        for bad in [#"{"a": 1}"#, #"{"a": "b",}"#, #"["a"]"#, #"{"a": "b"} x"#, #"{"a": "\ud800"}"#, #"{"a": "b", "a": "c"}"#, #"{"a": {"b": "c"}}"#] {
            #expect(throws: EnvelopeError.self, "\(bad)") { try EncryptionContext(jsonObject: Array(bad.utf8)) }
        }
    }

    @Test("encrypt refuses context keys in the SDK's reserved namespace")
    func reservedKeys() async throws {
        let keyring = try RawAESKeyring(namespace: "n", name: "k", wrappingKey: .init(size: .bits256))
        await #expect(throws: EnvelopeError.self) {
            _ = try await Envelope().encrypt([1, 2, 3], context: try EncryptionContext([("aws-crypto-public-key", "x")]), keyring: keyring)
        }
    }
}
