import CMKWorkflow
import Foundation
import GRDB

/// Starts enrollments: the library behind `cmkctl enroll`. `TenantOverview` reports where they stand.
public struct EnrollmentService: Sendable {
    public let journal: SQLiteJournal
    public let store: TenantStore
    public let definition: StateMachineDefinition
    public let now: @Sendable () -> Date

    /// The workflow name, from `Workflows/enroll.asl.json`.
    public static let workflowName = "enroll"

    public init(journal: SQLiteJournal, store: TenantStore, definition: StateMachineDefinition,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.journal = journal
        self.store = store
        self.definition = definition
        self.now = now
    }

    /// Loads `enroll.asl.json` from `directory` against the enrollment handlers.
    public static func loadDefinition(directory: URL) throws -> StateMachineDefinition {
        try DefinitionLoader(handlerNames: EnrollmentHandlers.names)
            .load(file: directory.appendingPathComponent("\(workflowName).asl.json"))
    }

    /// The execution name of a tenant's enrollment for a ticket.
    public static func executionName(tenant: String, ticket: String) -> String {
        "enroll-\(tenant)-\(ticket)"
    }

    /// What `enroll` did: started a new enrollment, or found this ticket's own.
    public struct Started: Sendable {
        public let execution: String
        public let created: Bool
    }

    /// Starts the enrollment, or returns the one this ticket already started for this tenant.
    ///
    /// The claim and its check are one write transaction, so two concurrent requests with different
    /// tickets cannot both win: the second sees the first's claim and is refused, unless the first
    /// enrollment has ended in failure (then a new ticket may try again).
    public func enroll(_ request: EnrollmentRequest) throws -> Started {
        let execution = Self.executionName(tenant: request.tenant, ticket: request.ticket)
        let at = now()
        let claimed: Bool = try store.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT ticket, execution FROM enrollment_claims WHERE tenant = ?",
                                          arguments: [request.tenant]) {
                let ticket: String = row["ticket"]
                if ticket == request.ticket { return false }
                let previous: String = row["execution"]
                let status = try String.fetchOne(db, sql: "SELECT status FROM executions WHERE name = ?", arguments: [previous])
                let failed = status == ExecutionStatus.failed.rawValue || status == ExecutionStatus.timedOut.rawValue
                    || status == ExecutionStatus.cancelled.rawValue
                guard failed else {
                    let state = try TenantStore.tenant(db, request.tenant)?.state.rawValue ?? "enrolling"
                    throw TenantError(.conflict, "tenant \(request.tenant) is already \(state) under ticket \(ticket); a different ticket (\(request.ticket)) is refused")
                }
                try db.execute(sql: "DELETE FROM enrollment_claims WHERE tenant = ?", arguments: [request.tenant])
            }
            if let tenant = try TenantStore.tenant(db, request.tenant), tenant.tag != request.tag.value {
                throw TenantError(.conflict, "tenant \(request.tenant) already has the tag \(tenant.tag); a tag is immutable")
            }
            try db.execute(sql: "INSERT INTO enrollment_claims (tenant, ticket, execution, requested_at) VALUES (?, ?, ?, ?)",
                           arguments: [request.tenant, request.ticket, execution, at.timeIntervalSince1970])
            try AuditLog.append(db, tenant: request.tenant, kind: .request, action: "enroll requested",
                                detail: ["keys": request.keys.map(\.keyARN).joined(separator: ","), "tag": request.tag.value],
                                cause: Cause(ticket: request.ticket, operatorName: request.operatorName, execution: execution), at: at)
            return true
        }
        // A crash between the claim and the start leaves a claim without an execution; the same
        // command again starts it, since starting by name is idempotent.
        let input = EnrollmentInput.json(request)
        let started = try journal.start(name: execution, input: input, definition: definition, now: at)
        if !started.created {
            // The same ticket again is the same enrollment only if it asks for the same thing.
            let before = started.snapshot.input
            if before["tag"] != input["tag"] || before["keys"] != input["keys"] {
                throw TenantError(.conflict, "ticket \(request.ticket) already enrolls tenant \(request.tenant) with tag \(before["tag"]?.stringValue ?? "?") and other keys; a change needs a new ticket once this enrollment has ended")
            }
        }
        return Started(execution: execution, created: claimed && started.created)
    }
}
