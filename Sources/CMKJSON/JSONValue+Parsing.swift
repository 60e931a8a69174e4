extension JSONValue {
    /// How far the reader follows a document before refusing it.
    public struct Limits: Sendable {
        /// Containers nested deeper than this are refused, so hostile input cannot exhaust the stack.
        public var maxDepth: Int

        public init(maxDepth: Int) {
            self.maxDepth = maxDepth
        }

        /// Values the workflow engine builds, journals and reads back: as deep as Foundation's
        /// decoder allowed, so an execution whose state grew deep is never unreadable.
        public static let standard = Limits(maxDepth: 512)
        /// Documents from outside that are flat by nature: KMS answers, key policies, the local KMS file.
        public static let shallow = Limits(maxDepth: 64)
    }

    /// Parses JSON text (RFC 8259, any top-level value); failures are `JSONError`.
    public init(parsing text: String, limits: Limits = .standard) throws {
        var text = text
        self = try text.withUTF8 { try Self.parse($0, limits: limits) }
    }

    /// Parses UTF-8 JSON bytes (RFC 8259, any top-level value); failures are `JSONError`.
    public init(utf8 bytes: some Collection<UInt8>, limits: Limits = .standard) throws {
        if let parsed = bytes.withContiguousStorageIfAvailable({ buffer in Result { try Self.parse(buffer, limits: limits) } }) {
            self = try parsed.get()
        } else {
            self = try Array(bytes).withUnsafeBufferPointer { try Self.parse($0, limits: limits) }
        }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, limits: Limits) throws -> JSONValue {
        var reader = JSONReader(bytes: bytes, maxDepth: limits.maxDepth)
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw reader.failure(.malformed, "unexpected text after the value") }
        return value
    }
}

/// A strict reader of RFC 8259 JSON: no comments, no trailing commas, no raw control characters in
/// strings, no lone surrogates, no duplicate keys, no `NaN` or numbers beyond `Double`.
///
/// Strict because what it reads also goes to other readers (KMS, IAM, the Python SDK): a document
/// two readers would take differently is refused rather than read one way here.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func failure(_ code: JSONError.Code, _ reason: String) -> JSONError {
        JSONError(code, reason, offset: index)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func readValue(depth: Int) throws -> JSONValue {
        skipWhitespace()
        guard let byte = current else { throw failure(.malformed, "unexpected end of the text") }
        switch byte {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw failure(.tooDeep, "nested deeper than \(maxDepth) levels") }
            return .object(try readObject(depth: depth))
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw failure(.tooDeep, "nested deeper than \(maxDepth) levels") }
            return .array(try readArray(depth: depth))
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try readNumber())
        default:
            throw failure(.malformed, "unexpected character '\(Self.printable(byte))'")
        }
    }

    private mutating func readObject(depth: Int) throws -> JSONObject {
        index += 1
        var members: [JSONObject.Member] = []
        // Small objects check a new key against the others by scanning; large ones keep a set, so
        // a hostile object with many keys costs linear time, not quadratic.
        var seen: Set<[UInt8]>?
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return JSONObject(uniqueMembers: members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure(.malformed, "expected a string as an object key") }
            let keyOffset = index
            let key = try readString()
            if members.count >= JSONObject.scanLimit {
                if seen == nil { seen = Set(members.map { Array($0.key.utf8) }) }
                guard seen!.insert(Array(key.utf8)).inserted else {
                    throw JSONError(.duplicateKey, "the key \"\(Self.printable(key))\" appears twice", offset: keyOffset)
                }
            } else if members.contains(where: { $0.key.utf8.elementsEqual(key.utf8) }) {
                throw JSONError(.duplicateKey, "the key \"\(Self.printable(key))\" appears twice", offset: keyOffset)
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure(.malformed, "expected ':' after an object key") }
            index += 1
            members.append((key, try readValue(depth: depth + 1)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                return JSONObject(uniqueMembers: members)
            default:
                throw failure(.malformed, "expected ',' or '}' in an object")
            }
        }
    }

    private mutating func readArray(depth: Int) throws -> [JSONValue] {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            elements.append(try readValue(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                return elements
            default:
                throw failure(.malformed, "expected ',' or ']' in an array")
            }
        }
    }

    private mutating func readLiteral(_ word: StaticString) throws {
        let length = word.utf8CodeUnitCount
        guard bytes.count - index >= length else { throw failure(.malformed, "unexpected end of the text") }
        for offset in 0..<length where bytes[index + offset] != word.utf8Start[offset] {
            throw failure(.malformed, "unexpected character '\(Self.printable(bytes[index]))'")
        }
        index += length
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read as the nearest `Double`.
    private mutating func readNumber() throws -> Double {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, Self.isDigit(first) else { throw failure(.malformed, "expected a digit") }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            skipDigits()
        }
        var integral = true
        if current == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard let digit = current, Self.isDigit(digit) else { throw failure(.malformed, "expected a digit after '.'") }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let digit = current, Self.isDigit(digit) else { throw failure(.malformed, "expected a digit in the exponent") }
            skipDigits()
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        // An integer of up to 18 digits fits an Int64, whose conversion to Double rounds to nearest
        // as the general one does: the common case skips making a String.
        if integral {
            let negative = text.first == UInt8(ascii: "-")
            let digits = negative ? text.dropFirst() : text[...]
            if digits.count <= 18 {
                var magnitude: Int64 = 0
                for byte in digits { magnitude = magnitude * 10 + Int64(byte - UInt8(ascii: "0")) }
                return negative ? -Double(magnitude) : Double(magnitude)
            }
        }
        guard let number = Double(String(decoding: text, as: UTF8.self)), number.isFinite else {
            throw JSONError(.numberOutOfRange, "the number \(String(decoding: text.prefix(40), as: UTF8.self)) is too large", offset: start)
        }
        return number
    }

    private mutating func skipDigits() {
        while let byte = current, Self.isDigit(byte) { index += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// A string literal, escapes resolved; its bytes must be UTF-8.
    mutating func readString() throws -> String {
        let start = index
        index += 1
        // Most strings have no escapes: find the closing quote and take the bytes between as they are.
        var end = index
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let raw = UnsafeBufferPointer(rebasing: bytes[index..<end])
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw JSONError(.invalidUTF8, "a string is not valid UTF-8", offset: start)
            }
            index = end + 1
            return text
        }
        var raw = Array(UnsafeBufferPointer(rebasing: bytes[index..<end]))
        index = end
        while true {
            guard let byte = current else { throw failure(.malformed, "unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: raw, as: UTF8.self) else {
                    throw JSONError(.invalidUTF8, "a string is not valid UTF-8", offset: start)
                }
                return text
            case UInt8(ascii: "\\"):
                try readEscape(into: &raw)
            case 0..<0x20:
                index -= 1
                throw failure(.malformed, "control character in a string (escape it)")
            default:
                raw.append(byte)
            }
        }
    }

    private mutating func readEscape(into raw: inout [UInt8]) throws {
        guard let byte = current else { throw failure(.malformed, "unterminated escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): raw.append(byte)
        case UInt8(ascii: "b"): raw.append(0x08)
        case UInt8(ascii: "f"): raw.append(0x0C)
        case UInt8(ascii: "n"): raw.append(0x0A)
        case UInt8(ascii: "r"): raw.append(0x0D)
        case UInt8(ascii: "t"): raw.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure(.malformed, "lone surrogate in a \\u escape")
                }
                index += 2
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure(.malformed, "lone surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure(.malformed, "lone surrogate in a \\u escape")
            }
            // Every value left is a scalar: surrogates were paired or refused above.
            raw.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            index -= 1
            throw failure(.malformed, "unknown escape '\\\(Self.printable(byte))'")
        }
    }

    /// Exactly four hex digits: `UInt32(_:radix:)` alone would also take a sign (`\u-000`, `\u+041`).
    private mutating func readHex4() throws -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure(.malformed, "bad \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[index..<(index + 4)] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { throw failure(.malformed, "bad \\u escape") }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    /// A byte of outside text as it may appear in a message: printable ASCII, else its code.
    private static func printable(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? String(Character(Unicode.Scalar(byte))) : "\\x" + String(byte, radix: 16, uppercase: true)
    }

    /// A key as it may appear in a message: control characters shown as escapes, at most 64 characters.
    private static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\"" || scalar == "\\" {
                out += scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 64 ? out + "…" : out
    }
}
