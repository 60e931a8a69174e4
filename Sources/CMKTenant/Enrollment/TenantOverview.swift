import CMKWorkflow
import Foundation
import GRDB

/// Where tenants stand: the read side behind `cmkctl status` and `cmkctl history`.
///
/// Reads the store and the journal only; it needs no workflow definition, so it works from any
/// directory.
public struct TenantOverview: Sendable {
    public let journal: SQLiteJournal
    public let store: TenantStore

    public init(journal: SQLiteJournal, store: TenantStore) {
        self.journal = journal
        self.store = store
    }

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
            // Tenants added (`tenants add`) but never enrolled have no claim; they are listed too.
            let unclaimed = try TenantStore.unclaimedTenants(db).filter { tenant == nil || $0.id == tenant }.map { record in
                let current = try TenantStore.generations(db, record.id).first(where: { $0.number == record.generation })
                return TenantStatus(tenant: record.id, ticket: record.ticket, state: record.state.rawValue, generation: record.generation,
                             regions: current?.keys.map(\.region) ?? [], keys: current?.keys.map(\.keyARN) ?? [], contextIdentifier: record.contextIdentifier, enrollingKeys: [], waitingFor: record.waitingFor,
                             execution: record.execution, executionStatus: "none", updatedAt: AuditLog.timestamp(record.updatedAt))
            }
            let claimed = try zip(claims, snapshots).map { claim, snapshot in
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
            return (claimed + unclaimed).sorted { $0.tenant < $1.tenant }
        }
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    static func keys(of snapshot: ExecutionSnapshot?) -> [String] {
        guard case .array(let keys)? = snapshot?.input["keys"] else { return [] }
        return keys.compactMap { $0["arn"]?.stringValue }
    }

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
