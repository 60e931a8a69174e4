import CMKWorkflow
import Foundation

/// The enrollment workflow's names: its definition, its activities, its executions.
public enum EnrollmentWorkflow {
    /// The workflow name, from `Workflows/enroll.asl.json`.
    public static let name = "enroll"

    /// The activities `EnrollmentHandlers` registers; definitions are checked against them.
    public static let handlerNames: Set<String> = [
        "tenant-register", "tenant-assign-context", "tenant-verify-policy", "tenant-probe-keys", "tenant-await-customer",
        "tenant-record-generation", "tenant-hand-over", "tenant-activate", "tenant-mark-failed",
    ]

    /// Loads `enroll.asl.json` from `directory` against the enrollment handlers.
    public static func loadDefinition(directory: URL) throws -> StateMachineDefinition {
        try DefinitionLoader(handlerNames: handlerNames).load(file: directory.appendingPathComponent("\(name).asl.json"))
    }

    /// The execution name of a tenant's enrollment for a ticket.
    public static func executionName(tenant: String, ticket: String) -> String {
        "enroll-\(tenant)-\(ticket)"
    }
}
