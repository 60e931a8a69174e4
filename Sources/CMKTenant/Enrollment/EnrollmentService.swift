import CMKWorkflow
import Foundation

/// Starts enrollments: the library behind `cmkctl enroll`. `TenantOverview` reports where they stand.
public struct EnrollmentService<Repository: TenantRepository>: Sendable {
    public let journal: any WorkflowJournal
    public let repository: Repository
    public let definition: StateMachineDefinition
    public let now: @Sendable () -> Date

    public init(journal: any WorkflowJournal, repository: Repository, definition: StateMachineDefinition,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.journal = journal
        self.repository = repository
        self.definition = definition
        self.now = now
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
    @discardableResult
    public func enroll(_ request: EnrollmentRequest) async throws -> Started {
        let execution = EnrollmentWorkflow.executionName(tenant: request.tenant, ticket: request.ticket)
        let at = now()
        // How another ticket's enrollment ended: the claim records it when the enrollment reached its last
        // steps; one cancelled or timed out before them is known from its execution, read through the journal
        // before the transaction (an ended execution never runs again, so the answer cannot go stale).
        let repository = repository
        let previous = try await repository.read { transaction in
            try await repository.enrollmentClaim(tenant: request.tenant, in: transaction)
        }
        var endedWithoutOutcome: String?
        if let previous, previous.ticket != request.ticket, previous.outcome == nil,
           let snapshot = try await journal.execution(named: previous.execution),
           [.failed, .timedOut, .cancelled].contains(snapshot.status) {
            endedWithoutOutcome = previous.execution
        }
        let ended = endedWithoutOutcome
        let claimed: Bool = try await repository.write { transaction in
            if let claim = try await repository.enrollmentClaim(tenant: request.tenant, in: transaction) {
                if claim.ticket == request.ticket { return false }
                let failed = claim.outcome == .failed || (claim.outcome == nil && claim.execution == ended)
                guard failed else {
                    let state = try await repository.tenant(request.tenant, in: transaction)?.state.rawValue ?? "enrolling"
                    throw TenantError(.conflict, "tenant \(request.tenant) is already \(state) under ticket \(claim.ticket); a different ticket (\(request.ticket)) is refused")
                }
                try await repository.deleteEnrollmentClaim(tenant: request.tenant, in: transaction)
            }
            if let tenant = try await repository.tenant(request.tenant, in: transaction), tenant.tag != request.tag.value {
                throw TenantError(.conflict, "tenant \(request.tenant) already has the tag \(tenant.tag); a tag is immutable")
            }
            try await repository.insertEnrollmentClaim(
                EnrollmentClaim(tenant: request.tenant, ticket: request.ticket, execution: execution, requestedAt: at),
                in: transaction)
            try await AuditLog.append(repository, in: transaction, tenant: request.tenant, kind: .request, action: "enroll requested",
                                      detail: ["keys": request.keys.map(\.keyARN).joined(separator: ","), "tag": request.tag.value],
                                      cause: Cause(ticket: request.ticket, operatorName: request.operatorName, execution: execution), at: at)
            return true
        }
        // A crash between the claim and the start leaves a claim without an execution; the same
        // command again starts it, since starting by name is idempotent.
        let input = EnrollmentInput.json(request)
        let started = try await journal.start(name: execution, input: input, definition: definition, now: at)
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
