/// Why bytes are not a JSON document this module accepts, and where the reading stopped.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable and kebab-case, compared by value; new codes are added as new constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String

        init(_ name: String) {
            self.name = name
        }

        public var description: String { name }

        /// Not RFC 8259 JSON: a stray character, a bad escape, an unterminated string.
        public static let malformed = Code("malformed")
        /// Containers nested deeper than the reader's limit.
        public static let tooDeep = Code("too-deep")
        /// An object names the same key (by UTF-8 bytes) twice, which readers resolve differently.
        public static let duplicateKey = Code("duplicate-key")
        /// A number too large for a `Double`.
        public static let numberOutOfRange = Code("number-out-of-range")
        /// A string whose bytes, escapes resolved, are not UTF-8.
        public static let invalidUTF8 = Code("invalid-utf8")
    }

    public let code: Code
    /// What is wrong, in words, without the position.
    public let reason: String
    /// The offset of the byte where the reader stopped.
    public let offset: Int

    public init(_ code: Code, _ reason: String, offset: Int) {
        self.code = code
        self.reason = reason
        self.offset = offset
    }

    /// The reason and the position, for messages: "expected ':' after an object key at byte 12".
    public var message: String { "\(reason) at byte \(offset)" }

    public var description: String { message }
}
