/// The one error type of the envelope module: a stable code for decisions, a message for people.
///
/// Decrypt failures that could help an attacker (which check failed, which key was tried) all reach
/// callers as `.authenticationFailed` with the same message; the specific reason goes to the debug log.
public struct EnvelopeError: Error, Sendable, CustomStringConvertible {
    /// Stable and kebab-case, compared by value; new codes are added as new constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }

        /// The message could not be decrypted: malformed, tampered, wrong key or wrong context.
        public static let authenticationFailed = Code("authentication-failed")
        /// No keyring could produce or unwrap a data key.
        public static let noDataKey = Code("no-data-key")
        /// A keyring failed (its service refused, its configuration is wrong).
        public static let keyringFailure = Code("keyring-failure")
        /// The caller asked for something the configuration forbids (commitment policy, suite).
        public static let policyViolation = Code("policy-violation")
        /// An argument is out of range or malformed (frame length, context, key material).
        public static let invalidArgument = Code("invalid-argument")
        /// The message uses a format feature this implementation does not read.
        public static let unsupported = Code("unsupported")
        /// The caller used the API out of order (for example fed bytes after finishing).
        public static let misuse = Code("misuse")
        /// The message cannot be rewrapped (a signed suite, a legacy v1 message): its footer signs
        /// the header with a key that was discarded, so it must be re-encrypted in full.
        public static let notRewrappable = Code("not-rewrappable")

        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The single opaque error every failed decrypt surfaces as.
    public static let decryptFailed = EnvelopeError(.authenticationFailed, "message could not be decrypted: it is malformed, was tampered with, or no given key and context match it")

    public var description: String { message }
}
