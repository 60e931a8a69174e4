import CMKWorkflow
import Foundation
import GRDB

/// Starts enrollments and reports where tenants stand: the library behind `cmkctl enroll`,
/// `status` and `history`.
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

    // MARK: Status

    /// One tenant as `cmkctl status` shows it.
    public struct TenantStatus: Sendable, Codable, Equatable {
        public let tenant: String
        public let ticket: String
        public let state: String
        public let generation: Int
        public let regions: [String]
        public let keys: [String]
        public let contextIdentifier: String?
        /// The keys the enrollment brings, while they are not yet the current generation.
        public let enrollingKeys: [String]
        public let waitingFor: String?
        public let execution: String
        public let executionStatus: String
        public let updatedAt: String
    }

    /// Every enrolled or enrolling tenant (or one), with what it waits for.
    public func status(tenant: String? = nil) throws -> [TenantStatus] {
        var claims = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT tenant, ticket, execution FROM enrollment_claims ORDER BY tenant")
        }
        if let tenant { claims = claims.filter { ($0["tenant"] as String) == tenant } }
        // The journal has its own reads; take the snapshots first, outside the tenant read.
        let snapshots = try claims.map { try journal.execution(named: $0["execution"]) }
        return try store.read { db in
            try zip(claims, snapshots).map { claim, snapshot in
                let id: String = claim["tenant"]
                let execution: String = claim["execution"]
                let executionStatus = snapshot?.status.rawValue ?? "not started"
                guard let record = try TenantStore.tenant(db, id) else {
                    return TenantStatus(tenant: id, ticket: claim["ticket"], state: TenantState.enrolling.rawValue, generation: 0,
                                        regions: [], keys: [], contextIdentifier: nil, enrollingKeys: Self.keys(of: snapshot),
                                        waitingFor: snapshot == nil ? "the enrollment to start (run cmkctl enroll again)" : "a worker",
                                        execution: execution, executionStatus: executionStatus,
                                        updatedAt: AuditLog.timestamp(snapshot?.updatedAt ?? Date()))
                }
                let generations = try TenantStore.generations(db, id)
                let current = generations.first(where: { $0.number == record.generation })
                var state = record.state.rawValue
                var waitingFor = record.waitingFor
                // An execution that ended without reaching a terminal tenant state (timed out, cancelled)
                // leaves the row behind; say what happened rather than show a stale wait.
                if let snapshot, snapshot.status != .running, snapshot.status != .succeeded, record.state != .enrollmentFailed,
                   record.state != .active {
                    state = TenantState.enrollmentFailed.rawValue
                    waitingFor = "enrollment \(snapshot.status.rawValue): \(snapshot.cause ?? "")"
                }
                return TenantStatus(tenant: id, ticket: record.ticket, state: state, generation: record.generation,
                                    regions: current?.keys.map(\.region) ?? [], keys: current?.keys.map(\.keyARN) ?? [],
                                    contextIdentifier: record.contextIdentifier,
                                    enrollingKeys: record.generation == 0 ? Self.keys(of: snapshot) : [],
                                    waitingFor: waitingFor, execution: execution,
                                    executionStatus: executionStatus, updatedAt: AuditLog.timestamp(record.updatedAt))
            }
        }
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    static func keys(of snapshot: ExecutionSnapshot?) -> [String] {
        guard case .array(let keys)? = snapshot?.input["keys"] else { return [] }
        return keys.compactMap { $0["arn"]?.stringValue }
    }

    // MARK: History

    /// One line of a tenant's timeline: a workflow event or an audit entry.
    public struct TimelineEntry: Sendable, Codable, Equatable {
        public let at: String
        public let source: String
        public let what: String
        public let detail: String
    }

    /// The tenant's enrollment events and audit entries, merged in time order.
    public func history(tenant: String) throws -> [TimelineEntry] {
        let executions = try store.read { db in
            try String.fetchAll(db, sql: """
                SELECT execution FROM enrollment_claims WHERE tenant = ?
                UNION SELECT execution FROM tenants WHERE id = ?
                """, arguments: [tenant, tenant])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Sorted by millisecond (the audit log's precision), a request before what it started, then as read.
        var entries: [(Int64, Int, Int, TimelineEntry)] = []
        var order = 0
        for execution in Set(executions).sorted() {
            for event in try journal.history(of: execution) {
                var detail = event.state.map { "state \($0)" } ?? ""
                if let attempt = event.attempt { detail += " attempt \(attempt)" }
                if let error = event.detail["error"]?.stringValue { detail += " error \(error)" }
                if let due = event.detail["due"]?.stringValue ?? event.detail["deadline"]?.stringValue { detail += " until \(due)" }
                order += 1
                entries.append((Self.milliseconds(formatter.date(from: AuditLog.timestamp(event.at)) ?? event.at), 1, order, TimelineEntry(at: AuditLog.timestamp(event.at), source: "workflow \(execution) #\(event.seq)",
                                                               what: event.kind.rawValue, detail: detail.trimmingCharacters(in: .whitespaces))))
            }
        }
        for entry in try store.auditEntries(tenant: tenant) {
            let detail = entry.detail.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let cause = entry.cause.summary
            order += 1
            entries.append((Self.milliseconds(formatter.date(from: entry.at) ?? .distantPast), entry.kind == .request ? 0 : 1, order,
                            TimelineEntry(at: entry.at, source: "audit #\(entry.seq)", what: "\(entry.kind.rawValue): \(entry.action)",
                                          detail: [detail, cause.isEmpty ? "" : "[\(cause)]"].filter { !$0.isEmpty }.joined(separator: " "))))
        }
        return entries.sorted { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }.map(\.3)
    }
}
