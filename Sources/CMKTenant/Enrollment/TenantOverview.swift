import CMKWorkflow
import Foundation

/// Where tenants stand: the read side behind `cmkctl status` and `cmkctl history`.
///
/// Reads the repository and, through the journal's public API, execution snapshots and histories; it needs
/// no workflow definition, so it works from any directory.
public struct TenantOverview<Repository: TenantRepository>: Sendable {
    public let journal: any WorkflowJournal
    public let repository: Repository

    public init(journal: any WorkflowJournal, repository: Repository) {
        self.journal = journal
        self.repository = repository
    }

    public typealias TenantStatus = CMKTenant.TenantStatus
    public typealias TimelineEntry = TenantTimelineEntry

    /// Every enrolled or enrolling tenant (or one), with what it waits for.
    public func status(tenant: String? = nil) async throws -> [TenantStatus] {
        let repository = repository
        var claims = try await repository.read { transaction in try await repository.enrollmentClaims(in: transaction) }
        if let tenant { claims = claims.filter { $0.tenant == tenant } }
        // The journal has its own reads; take the snapshots first, outside the tenant read.
        var snapshots: [ExecutionSnapshot?] = []
        for claim in claims {
            snapshots.append(try await journal.execution(named: claim.execution))
        }
        let claimsAndSnapshots = Array(zip(claims, snapshots))
        // Revocation checks waiting for a retry of their probe: an alert, never a change to the tenant.
        var alerts: [String: [String]] = [:]
        for check in try await journal.executions(status: .running) where check.workflow == RevocationWorkflow.name {
            guard check.stateName == "Probe", let failure = try await journal.history(of: check.name).last(where: { $0.kind == .taskFailed })
            else { continue }
            let tenant = check.input["tenant"]?.stringValue ?? ""
            let error = failure.detail["error"]?.stringValue ?? "a failure"
            let cause = failure.detail["cause"]?.stringValue.map { ": \($0.prefix(200))" } ?? ""
            alerts[tenant, default: []].append("\(check.name) cannot probe (\(error)\(cause)); retrying, the tenant is untouched")
        }
        let pendingAlerts = alerts
        return try await repository.read { transaction in
            // Tenants added (`tenants add`) but never enrolled have no claim; they are listed too.
            var unclaimed: [TenantStatus] = []
            for record in try await repository.unclaimedTenants(in: transaction) where tenant == nil || record.id == tenant {
                let current = try await repository.generations(of: record.id, in: transaction)
                    .first(where: { $0.number == record.generation })
                unclaimed.append(TenantStatus(tenant: record.id, ticket: record.ticket, state: record.state.rawValue, generation: record.generation,
                             regions: current?.keys.map(\.region) ?? [], keys: current?.keys.map(\.keyARN) ?? [], contextIdentifier: record.contextIdentifier, enrollingKeys: [], waitingFor: record.waitingFor,
                             execution: record.execution, executionStatus: "none", updatedAt: AuditLog.timestamp(record.updatedAt)))
            }
            var claimed: [TenantStatus] = []
            for (claim, snapshot) in claimsAndSnapshots {
                let id = claim.tenant
                let execution = claim.execution
                let executionStatus = snapshot?.status.rawValue ?? claim.outcome?.rawValue ?? "not started"
                guard let record = try await repository.tenant(id, in: transaction) else {
                    claimed.append(TenantStatus(tenant: id, ticket: claim.ticket, state: TenantState.enrolling.rawValue, generation: 0,
                                        regions: [], keys: [], contextIdentifier: nil, enrollingKeys: Self.keys(of: snapshot),
                                        waitingFor: snapshot == nil ? "the enrollment to start (run cmkctl enroll again)" : "a worker",
                                        execution: execution, executionStatus: executionStatus,
                                        updatedAt: AuditLog.timestamp(snapshot?.updatedAt ?? Date())))
                    continue
                }
                let generations = try await repository.generations(of: id, in: transaction)
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
                claimed.append(TenantStatus(tenant: id, ticket: record.ticket, state: state, generation: record.generation,
                                    regions: current?.keys.map(\.region) ?? [], keys: current?.keys.map(\.keyARN) ?? [],
                                    contextIdentifier: record.contextIdentifier,
                                    enrollingKeys: record.generation == 0 ? Self.keys(of: snapshot) : [],
                                    waitingFor: waitingFor, execution: execution,
                                    executionStatus: executionStatus, updatedAt: AuditLog.timestamp(record.updatedAt)))
            }
            var statuses = (claimed + unclaimed).sorted { $0.tenant < $1.tenant }
            for index in statuses.indices {
                let id = statuses[index].tenant
                let entries = try await repository.auditRecords(tenant: id, in: transaction).map(AuditLog.entry)
                statuses[index].lastRevocation = RevocationBound.latest(entries: entries, purges: try await repository.purges(of: id, in: transaction))
                statuses[index].alerts = pendingAlerts[id] ?? []
                statuses[index].reencryption = try await repository.reencryptions(tenant: id, in: transaction).max { $0.target < $1.target }
                statuses[index].ledger = try await repository.ledger(tenant: id, in: transaction)
            }
            return statuses
        }
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    static func keys(of snapshot: ExecutionSnapshot?) -> [String] {
        guard case .array(let keys)? = snapshot?.input["keys"] else { return [] }
        return keys.compactMap { $0["arn"]?.stringValue }
    }

    /// The tenant's enrollment events and audit entries, merged in time order.
    public func history(tenant: String) async throws -> [TimelineEntry] {
        let repository = repository
        let executions = try await repository.read { transaction in
            let claim = try await repository.enrollmentClaim(tenant: tenant, in: transaction)?.execution
            let latest = try await repository.tenant(tenant, in: transaction)?.execution
            return [claim, latest].compactMap { $0 }.filter { !$0.isEmpty }
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Sorted by millisecond (the audit log's precision), a request before what it started, then as read.
        var entries: [(Int64, Int, Int, TimelineEntry)] = []
        var order = 0
        for execution in Set(executions).sorted() {
            for event in try await journal.history(of: execution) {
                var detail = event.state.map { "state \($0)" } ?? ""
                if let attempt = event.attempt { detail += " attempt \(attempt)" }
                if let error = event.detail["error"]?.stringValue { detail += " error \(error)" }
                if let due = event.detail["due"]?.stringValue ?? event.detail["deadline"]?.stringValue { detail += " until \(due)" }
                order += 1
                entries.append((Self.milliseconds(formatter.date(from: AuditLog.timestamp(event.at)) ?? event.at), 1, order, TimelineEntry(at: AuditLog.timestamp(event.at), source: "workflow \(execution) #\(event.seq)",
                                                               what: event.kind.rawValue, detail: detail.trimmingCharacters(in: .whitespaces))))
            }
        }
        for entry in try await repository.auditEntries(tenant: tenant) {
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
