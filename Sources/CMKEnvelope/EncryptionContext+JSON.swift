import CMKJSON

/// Reading and writing an encryption context as a flat JSON object of strings.
///
/// Reading has its own parser, of the same strict grammar as `JSONValue`'s, because a context
/// file's refusal must name the pair whose bytes are not UTF-8 (shown as bytes); writing is
/// `JSONValue`'s, which keeps every key's exact bytes.
extension EncryptionContext {
    /// Parses `{"key": "value", ...}`; anything else (nested values, numbers, duplicate keys) is refused.
    public init(jsonObject bytes: some Collection<UInt8>) throws {
        var parser = FlatJSONParser(Array(bytes))
        try self.init(parser.parseObjectOfStrings())
    }

    /// The context as a JSON object, keys in the context's byte order.
    public var jsonObject: String {
        JSONValue.object(JSONObject(pairs.map { ($0.key, .string($0.value)) })).jsonText
    }
}

/// A strict reader for one JSON object whose values are all strings (RFC 8259 grammar).
struct FlatJSONParser {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseObjectOfStrings() throws -> [(String, String)] {
        skipWhitespace()
        try expect(UInt8(ascii: "{"))
        var pairs: [(String, String)] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                let keyBytes = try parseString()
                guard let key = String(validating: keyBytes, as: UTF8.self) else {
                    throw error("the key \(DisplayText.quoted(keyBytes)) is not valid UTF-8")
                }
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw error("the value of \(DisplayText.quoted(key)) is not a string") }
                let valueBytes = try parseString()
                guard let value = String(validating: valueBytes, as: UTF8.self) else {
                    throw error("the value of \(DisplayText.quoted(key)), \(DisplayText.quoted(valueBytes)), is not valid UTF-8")
                }
                pairs.append((key, value))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected text after the object") }
        return pairs
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func error(_ message: String) -> EnvelopeError {
        EnvelopeError(.invalidArgument, "context JSON: \(message) (at byte \(index))")
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    /// The bytes of one string literal, escapes resolved; the caller checks them for UTF-8 so the
    /// error can say whether a key or a value is broken.
    private mutating func parseString() throws -> [UInt8] {
        try expect(UInt8(ascii: "\""))
        var raw: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return raw
            case UInt8(ascii: "\\"):
                try parseEscape(into: &raw)
            case 0..<0x20:
                throw error("control character in string")
            default:
                raw.append(byte)
            }
        }
    }

    private mutating func parseEscape(into raw: inout [UInt8]) throws {
        guard let byte = peek() else { throw error("unterminated escape") }
        index += 1
        let simple: [UInt8: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09]
        if let replacement = simple[byte] {
            raw.append(replacement)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw error("unknown escape") }
        var scalar = try parseHex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                throw error("lone surrogate")
            }
            index += 2
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw error("lone surrogate")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid code point") }
        raw.append(contentsOf: Array(String(Character(unicode)).utf8))
    }

    /// Exactly four hex digits: `UInt32(_:radix:)` alone would also take a sign (`\u-000`, `\u+041`).
    private mutating func parseHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("bad \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[index..<(index + 4)] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { throw error("bad \\u escape") }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }
}
