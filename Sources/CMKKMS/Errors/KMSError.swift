/// The one error type of the KMS module: a stable code that lifecycle decisions read, and a message
/// for people.
///
/// Callers branch on `code` only (suspend a tenant on `.denied`, `.disabled`, `.notFound`; retry on
/// `.throttled` and `.unreachable`); the message is free text and may change.
public struct KMSError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible, CaseIterable {
        public let name: String
        private init(_ name: String) { self.name = name }

        /// The caller is not allowed to use the key (IAM or key policy deny, bad signature, unknown caller).
        public static let denied = Code("denied")
        /// The key exists but cannot be used now: disabled, pending deletion, or another invalid state.
        public static let disabled = Code("disabled")
        /// The key (or alias) does not exist.
        public static let notFound = Code("notFound")
        /// The ciphertext is malformed, was made by another key, or the encryption context differs.
        public static let invalidCiphertext = Code("invalidCiphertext")
        /// The service asked us to slow down; retried with backoff before it surfaces.
        public static let throttled = Code("throttled")
        /// No answer in time: connection refused, timeout, or a 5xx from the service.
        public static let unreachable = Code("unreachable")
        /// The request itself is wrong (bad key id syntax, bad parameter, unsupported operation).
        public static let invalidRequest = Code("invalidRequest")
        /// A key ARN, alias ARN or region outside the strict grammar (`KeyARN`); refused before any call.
        public static let invalidKeyARN = Code("invalidKeyARN")

        public static let allCases: [Code] = [.denied, .disabled, .notFound, .invalidCiphertext, .throttled, .unreachable, .invalidRequest, .invalidKeyARN]

        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// The service's own error name (`AccessDeniedException`), when there was one; for logs only.
    public let serviceErrorType: String?

    public init(_ code: Code, _ message: String, serviceErrorType: String? = nil) {
        self.code = code
        self.message = message
        self.serviceErrorType = serviceErrorType
    }

    /// Whether a retry may succeed without anything changing on the key (throttling, outages).
    public var isTransient: Bool { code == .throttled || code == .unreachable }

    public var description: String {
        if let serviceErrorType { return "\(code): \(serviceErrorType): \(message)" }
        return "\(code): \(message)"
    }
}
