/// The one error type of CMKTenant: a stable code that callers branch on, and a message for people.
///
/// Decisions (CLI exit codes, workflow retries) read `code`, never `message`.
public struct TenantError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable reasons; raw values appear in JSON output and never change once shipped.
    public enum Code: String, Sendable, Equatable, Codable {
        /// Input refused before anything was journaled: malformed ARN, bad tag, duplicate region.
        case invalidInput = "invalid_input"
        /// The tenant is already enrolling or enrolled under another ticket, or a tag is taken.
        case conflict = "conflict"
        /// The tenant's lifecycle does not allow this move from its current state (`TenantLifecycle`).
        case illegalTransition = "illegal_transition"
        /// No such tenant (or the operator's tenant list does not name it).
        case unknownTenant = "unknown_tenant"
        /// A key policy document is not JSON of the IAM policy shape.
        case malformedPolicy = "malformed_policy"
        /// The tenant store could not be opened, migrated, read or written.
        case storeFailure = "store_failure"
        /// The audit chain does not verify: an entry was edited, inserted or deleted.
        case auditChainBroken = "audit_chain_broken"
        /// The operator configuration file is missing a value or has a wrong one.
        case configuration = "configuration"
        /// Encrypt or decrypt for a tenant the store does not know, or one without an
        /// encryption-context identifier yet (`TenantCrypto`).
        case tenantUnknown = "tenant-unknown"
        /// Encrypt or decrypt for a suspended or offboarded tenant: its lifecycle refuses (`TenantCrypto`).
        case tenantSuspended = "tenant-suspended"
        /// A tenant message could not be decrypted: malformed, tampered, another tenant's, or under a
        /// key the tenant does not have. One opaque error for every cause, so a caller cannot probe
        /// whose a message is; the reason goes to the debug log.
        case decryptFailed = "decrypt-failed"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
