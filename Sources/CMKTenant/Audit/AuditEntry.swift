import Foundation

/// One line of the append-only audit trail: a lifecycle transition or a KMS call made for a tenant.
public struct AuditEntry: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A lifecycle state change (`action` is `from -> to`).
        case transition
        /// A call to the tenant's KMS (`action` is the API name).
        case kmsCall = "kms-call"
        /// A request from an operator (enroll, signal) that started or resumed work.
        case request
        /// A check's conclusion that moved nothing: a revocation check closed on a pass, or left unconfirmed.
        case check
    }

    public let seq: Int
    /// RFC 3339 with milliseconds, UTC; hashed exactly as stored.
    public let at: String
    public let tenant: String?
    public let kind: Kind
    public let action: String
    public let detail: [String: String]
    public let cause: Cause
    public let prevHash: String
    public let hash: String

    enum CodingKeys: String, CodingKey {
        case seq, at = "time", tenant, kind, action, detail, cause, prevHash, hash
    }
}

/// What `audit verify` found.
public struct AuditVerification: Sendable, Equatable, Codable {
    public let entries: Int
    public let headHash: String?
    /// The first entry that does not verify, and why; nil when the chain is intact.
    public let brokenAt: Int?
    public let problem: String?

    public init(entries: Int, headHash: String?, brokenAt: Int?, problem: String?) {
        self.entries = entries
        self.headHash = headHash
        self.brokenAt = brokenAt
        self.problem = problem
    }

    public var isIntact: Bool { brokenAt == nil && problem == nil }
}
