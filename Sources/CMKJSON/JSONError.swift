/// Why bytes are not a JSON document this module accepts, and where the reading stopped.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Not RFC 8259 JSON: a stray character, a bad escape, an unterminated string.
        case malformed
        /// Containers nested deeper than the reader's limit.
        case tooDeep
        /// An object names the same key (by UTF-8 bytes) twice, which readers resolve differently.
        case duplicateKey
        /// A number too large for a `Double`.
        case numberOutOfRange
        /// A string whose bytes, escapes resolved, are not UTF-8.
        case invalidUTF8
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
