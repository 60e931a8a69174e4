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

    /// Starts the rotation of an active tenant's keys to `request.keys` (the enrollment's checks, then
    /// a new generation and its re-encryption), or returns the one this ticket already started.
    /// `request.tag` must be the tenant's own.
    @discardableResult
    public func rotate(_ request: EnrollmentRequest) async throws -> Started {
        let execution = EnrollmentWorkflow.rotationName(tenant: request.tenant, ticket: request.ticket)
        guard let record = try await repository.tenant(request.tenant) else {
            throw TenantError(.tenantUnknown, "tenant \(request.tenant) is not registered")
        }
        if let existing = try await journal.execution(named: execution) {
            return Started(execution: existing.name, created: false)
        }
        guard record.lifecycle.allows(.rotate) else {
            throw TenantError(.illegalTransition, "tenant \(request.tenant) is \(record.state.rawValue): only an active tenant's keys can be rotated")
        }
        let current = try await repository.generations(of: request.tenant).first { $0.number == record.generation }
        if let current, Set(current.keys.map(\.keyARN)) == Set(request.keys.map(\.keyARN)) {
            throw TenantError(.invalidInput, "these are the keys of the tenant's current generation \(record.generation): a rotation needs new keys")
        }
        // One rotation at a time: another ticket's, still running, is refused.
        let running = try await journal.executions(status: .running).first {
            $0.name.hasPrefix("rotate-\(request.tenant)-") && $0.input["tenant"]?.stringValue == request.tenant
        }
        if let running {
            throw TenantError(.conflict, "tenant \(request.tenant) is already rotating (\(running.name)); wait for it or cancel it first")
        }
        guard case .object(var input) = EnrollmentInput.json(request) else { preconditionFailure("the input is an object") }
        input["tag"] = .string(record.tag)
        input["rotation"] = true
        let at = now()
        try await repository.write { [repository] transaction in
            try await AuditLog.append(repository, in: transaction, tenant: request.tenant, kind: .request, action: "rotate requested",
                                      detail: ["keys": request.keys.map(\.keyARN).joined(separator: ",")],
                                      cause: Cause(ticket: request.ticket, operatorName: request.operatorName, execution: execution), at: at)
        }
        let started = try await journal.start(name: execution, input: .object(input), definition: definition, now: at)
        return Started(execution: execution, created: started.created)
    }
}
