/// The encryption context of a message: string pairs bound to the ciphertext as authenticated data.
///
/// Keys and values are compared and ordered by their UTF-8 bytes, as the message format requires.
/// Swift's `String ==` treats canonically equivalent strings as equal ("é" precomposed and "e" +
/// combining accent), which would merge two distinct keys; so this type never uses `String`
/// equality or hashing for keys, and is never built from a `Dictionary`.
public struct EncryptionContext: Sendable, Equatable, CustomStringConvertible {
    public struct Pair: Sendable, Equatable {
        public let key: String
        public let value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }

        public static func == (lhs: Pair, rhs: Pair) -> Bool {
            lhs.key.utf8.elementsEqual(rhs.key.utf8) && lhs.value.utf8.elementsEqual(rhs.value.utf8)
        }
    }

    /// The pairs, sorted by the UTF-8 bytes of their keys.
    public let pairs: [Pair]

    /// Keys starting with this prefix belong to the SDK (the signing public key lives there).
    public static let reservedPrefix = "aws-crypto-"
    /// Where signed suites keep the base64 compressed public key of the message's signer.
    public static let publicKeyKey = "aws-crypto-public-key"

    public static let empty = EncryptionContext(sortedUnique: [])

    /// Builds a context from pairs in any order; two keys with the same bytes are an error.
    public init(_ pairs: [(String, String)]) throws {
        let sorted = pairs.map { Pair($0.0, $0.1) }.sorted { Self.precedes($0.key, $1.key) }
        for index in sorted.indices.dropFirst() where sorted[index - 1].key.utf8.elementsEqual(sorted[index].key.utf8) {
            throw EnvelopeError(.invalidArgument, "encryption context has the key \(DisplayText.quoted(sorted[index].key)) twice")
        }
        self.init(sortedUnique: sorted)
    }

    private init(sortedUnique: [Pair]) {
        self.pairs = sortedUnique
    }

    public var isEmpty: Bool { pairs.isEmpty }
    public var count: Int { pairs.count }

    /// The value stored under exactly these key bytes.
    public subscript(key: String) -> String? {
        pairs.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    /// This context with one more pair (replacing nothing: the key must be new).
    public func adding(_ key: String, _ value: String) throws -> EncryptionContext {
        try EncryptionContext(pairs.map { ($0.key, $0.value) } + [(key, value)])
    }

    /// This context without the pairs whose keys start with `prefix` (byte-wise).
    public func removingKeys(withPrefix prefix: String) -> EncryptionContext {
        EncryptionContext(sortedUnique: pairs.filter { !$0.key.utf8.starts(with: prefix.utf8) })
    }

    /// Whether every pair of `required` is in this context with the same value bytes.
    public func contains(_ required: EncryptionContext) -> Bool {
        required.pairs.allSatisfy { needed in pairs.contains(needed) }
    }

    public var description: String {
        "{" + pairs.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ") + "}"
    }

    /// Orders two strings by their UTF-8 bytes (lexicographic, shorter prefix first).
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

extension EncryptionContext {
    /// Serializes as the message format does: pair count, then length-prefixed keys and values in
    /// sorted order; an empty context is zero bytes (no count).
    public func serialized() throws -> [UInt8] {
        guard !pairs.isEmpty else { return [] }
        guard pairs.count <= Int(UInt16.max) else {
            throw EnvelopeError(.invalidArgument, "encryption context has more than 65535 pairs")
        }
        var writer = ByteWriter()
        writer.write(UInt16(pairs.count))
        for pair in pairs {
            try writer.writeShortLengthPrefixed(Array(pair.key.utf8), what: "encryption context key")
            try writer.writeShortLengthPrefixed(Array(pair.value.utf8), what: "encryption context value")
        }
        guard writer.bytes.count <= Int(UInt16.max) else {
            throw EnvelopeError(.invalidArgument, "serialized encryption context is \(writer.bytes.count) bytes; the format allows 65535")
        }
        return writer.bytes
    }

    /// Parses the serialized form strictly: sorted, unique, valid UTF-8, no bytes left over.
    init(parsing bytes: ArraySlice<UInt8>) throws {
        guard !bytes.isEmpty else {
            self = .empty
            return
        }
        var reader = ByteReader(bytes)
        let count = try reader.readUInt16()
        guard count > 0 else { throw MessageFormatError("encryption context has a pair count of 0 but is not empty") }
        var parsed: [Pair] = []
        parsed.reserveCapacity(Int(count))
        for _ in 0..<count {
            let key = try Self.utf8(reader.readShortLengthPrefixed())
            let value = try Self.utf8(reader.readShortLengthPrefixed())
            if let last = parsed.last, !Self.precedes(last.key, key) {
                throw MessageFormatError("encryption context keys are not sorted and unique")
            }
            parsed.append(Pair(key, value))
        }
        guard reader.isAtEnd else { throw MessageFormatError("encryption context has trailing bytes") }
        self.init(sortedUnique: parsed)
    }

    private static func utf8(_ bytes: ArraySlice<UInt8>) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw MessageFormatError("encryption context holds invalid UTF-8")
        }
        return text
    }
}
