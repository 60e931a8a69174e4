/// The one error type of CMKServer: what the sidecar itself refuses before TenantCrypto is asked.
///
/// Its codes are part of the API (the `code` member of every problem document), so they are
/// kebab-case and never change once shipped.
public struct ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String

        init(_ name: String) {
            self.name = name
        }

        public var description: String { name }

        /// A body that is not the JSON the route takes, bad base64, a bad context header.
        public static let invalidRequest = Code("invalid-request")
        /// No bearer token, or one that is not in the token file.
        public static let unauthorized = Code("unauthorized")
        /// A JSON body over `--max-body-bytes`.
        public static let payloadTooLarge = Code("payload-too-large")
        /// The token file cannot be read or holds no token; the listen address does not parse.
        public static let configuration = Code("configuration")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
