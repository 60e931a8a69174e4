import CMKWorkflow
import Foundation

/// The enrollment workflow's names: its definition, its activities, its executions.
public enum EnrollmentWorkflow {
    /// The workflow name, from `Workflows/enroll.asl.json`.
    public static let name = "enroll"

    /// The activities `EnrollmentHandlers` registers; definitions are checked against them.
    public static let handlerNames: Set<String> = [
        "tenant-register", "tenant-assign-context", "tenant-verify-policy", "tenant-probe-keys", "tenant-await-customer",
        "tenant-record-generation", "tenant-hand-over", "tenant-activate", "tenant-mark-failed", "tenant-start-reencryption",
        "tenant-notify-awaiting",
    ]

    /// Loads `enroll.asl.json` from `directory` against the enrollment handlers.
    public static func loadDefinition(directory: URL) throws -> StateMachineDefinition {
        try DefinitionLoader(handlerNames: handlerNames).load(file: directory.appendingPathComponent("\(name).asl.json"))
    }

    /// The execution name of a tenant's enrollment for a ticket.
    public static func executionName(tenant: String, ticket: String) -> String {
        "enroll-\(tenant)-\(ticket)"
    }

    /// The execution name of a tenant's key rotation for a ticket (the same workflow, input `rotation`).
    public static func rotationName(tenant: String, ticket: String) -> String {
        "rotate-\(tenant)-\(ticket)"
    }

    /// The ASL error names the enrollment's handlers raise, in one place: `enroll.asl.json` names them
    /// in its `Retry` and `Catch` rules, and a test checks the two agree.
    public enum ErrorName: String, Sendable, CaseIterable {
        /// KMS throttled or out of reach (a `transient` failure): retried with backoff.
        case kmsUnavailable = "KMS.Unavailable"
        /// cmkctl's own KMS setup is wrong (a `misconfiguration`): retried for hours, never the tenant's fault.
        case kmsMisconfigured = "KMS.Misconfigured"
        /// A `revocation` answer where the step cannot wait for the customer.
        case kmsRevoked = "KMS.Revoked"
        /// A step ran before the tenant had its context identifier.
        case tenantNotReady = "Tenant.NotReady"
        /// The journaled enrollment input is not what `enroll` writes.
        case badInput = "Enrollment.BadInput"
        /// The operator's receiver did not take the awaiting-customer notice (`OperatorNotifier.failed`).
        case notifyFailed = "Notify.Failed"

        /// Whether the definition must retry it; the others end the enrollment through the catch-all.
        public var isRetried: Bool {
            switch self {
            case .kmsUnavailable, .kmsMisconfigured, .notifyFailed: true
            case .kmsRevoked, .tenantNotReady, .badInput: false
            }
        }
    }
}
