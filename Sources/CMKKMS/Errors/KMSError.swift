/// The one error type of the KMS module: a stable code that lifecycle decisions read, and a message
/// for people.
///
/// Every code belongs to exactly one `FailureClass`, fixed where the code is declared, so "is this
/// the customer revoking us, an outage, or our own setup?" is answered here once and nowhere else.
/// Callers branch on `failureClass` (or on `code`); the message is free text and may change.
public struct KMSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Who has to act on a failure (design.md section 2).
    ///
    /// Only `revocation` ever suspends a tenant; `transient` backs off and alerts; `misconfiguration`
    /// alerts the operator and never touches a tenant.
    public enum FailureClass: String, Sendable, CaseIterable {
        /// The customer took the key away: a key policy or grant denies us, the key is disabled,
        /// pending deletion or import, or gone.
        case revocation
        /// Nothing is wrong that time will not fix: throttling, outages, timeouts, a key being
        /// created or updated.
        case transient
        /// Our own side is wrong: credentials missing or refused, the local KMS file unreadable or
        /// not the one that holds the key, a bad endpoint, a request or ciphertext cmkctl got wrong.
        case misconfiguration
    }

    public struct Code: Hashable, Sendable, CustomStringConvertible, CaseIterable {
        /// Stable, kebab-case; shown on stderr, in `--json` output and in the audit trail.
        public let name: String
        public let failureClass: FailureClass

        private init(_ name: String, _ failureClass: FailureClass) {
            self.name = name
            self.failureClass = failureClass
        }

        /// The tenant's key policy, a grant or a resource control policy refuses the call.
        public static let denied = Code("denied", .revocation)
        /// The key exists but its owner made it unusable: disabled, pending deletion or import, its
        /// key store disconnected.
        public static let disabled = Code("disabled", .revocation)
        /// The key (or alias) does not exist (any more).
        public static let notFound = Code("not-found", .revocation)
        /// The key exists but cannot be used for a moment: being created or updated, or KMS says to
        /// retry (`KeyUnavailableException`).
        public static let keyUnavailable = Code("key-unavailable", .transient)
        /// The service asked us to slow down; retried with backoff before it surfaces.
        public static let throttled = Code("throttled", .transient)
        /// No answer in time: connection refused, timeout, or a 5xx from the service.
        public static let unreachable = Code("unreachable", .transient)
        /// Our own setup: AWS credentials missing, unknown, expired or badly signed; our account's IAM
        /// or SCPs refuse us; the local KMS file missing, unreadable, open to others or without the
        /// key; an endpoint that is not a KMS endpoint.
        public static let misconfigured = Code("misconfigured", .misconfiguration)
        /// The ciphertext is malformed, was made by another key, or the encryption context differs.
        public static let invalidCiphertext = Code("invalid-ciphertext", .misconfiguration)
        /// The request itself is wrong (bad key id syntax, bad parameter, unsupported operation).
        public static let invalidRequest = Code("invalid-request", .misconfiguration)
        /// A key ARN, alias ARN or region outside the strict grammar (`KeyARN`); refused before any call.
        public static let invalidKeyARN = Code("invalid-key-arn", .misconfiguration)

        public static let allCases: [Code] = [
            .denied, .disabled, .notFound, .keyUnavailable, .throttled, .unreachable, .misconfigured, .invalidCiphertext, .invalidRequest,
            .invalidKeyARN,
        ]

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

    /// The class of this failure: read this, never the message, to decide about a tenant.
    public var failureClass: FailureClass { code.failureClass }

    /// Whether a retry may succeed without anything changing on the key (throttling, outages).
    public var isTransient: Bool { failureClass == .transient }

    public var description: String {
        if let serviceErrorType { return "\(code): \(serviceErrorType): \(message)" }
        return "\(code): \(message)"
    }
}
