import CMKTenant
import CMKWorkflow
import Foundation
import PostgresNIO

/// Tenants, key generations, policy checks, enrollment claims and the audit trail in the PostgreSQL
/// journal's database, so that a transactional task handler's tenant writes commit with its step.
///
/// In a write transaction every method first takes the tenant write lock (one advisory lock for the
/// tenant tables, held to the end of the transaction): the audit trail is one hash chain, so its
/// appends are serial anyway, and with the lock a write transaction's reads stay as read, as on SQLite.
/// Database errors inside a transaction pass through unchanged; `write` and `read` report them as
/// `TenantError.storeFailure`.
public struct PostgresTenantRepository: TenantRepository {
    public typealias Transaction = PostgresTransaction

    public let journal: PostgresJournal

    init(journal: PostgresJournal) {
        self.journal = journal
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) async throws -> T) async throws -> T {
        if let execution = StepTransactionScope.execution {
            throw TenantError(.storeFailure, "a transactional step of \(execution) opened a write transaction of its own; it must write through the step's transaction")
        }
        do {
            return try await journal.transaction(write: true, body)
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.storeFailure, "tenant store write failed: \(describe(error))")
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) async throws -> T) async throws -> T {
        do {
            return try await journal.transaction(write: false, body)
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.storeFailure, "tenant store read failed: \(describe(error))")
        }
    }

    /// Runs one statement of a tenant operation, under the tenant write lock in a write transaction.
    @discardableResult
    private func run(_ transaction: PostgresTransaction, _ query: PostgresQuery) async throws -> [PostgresRow] {
        try await transaction.lockTenantWrites()
        return try await transaction.query(query)
    }

    // MARK: Tenants

    public func tenant(_ id: String, in transaction: PostgresTransaction) async throws -> TenantRecord? {
        try await run(transaction, "SELECT * FROM tenants WHERE id = \(id)").first.map(Self.record)
    }

    public func tenants(in transaction: PostgresTransaction) async throws -> [TenantRecord] {
        try await run(transaction, "SELECT * FROM tenants ORDER BY id").map(Self.record)
    }

    public func insertTenant(_ record: TenantRecord, in transaction: PostgresTransaction) async throws {
        try await run(
            transaction,
            """
            INSERT INTO tenants (id, ticket, tag, context_id, state, generation, waiting_for, execution, created_at, updated_at)
            VALUES (\(record.id), \(record.ticket), \(record.tag), \(record.contextIdentifier), \(record.state.rawValue),
                \(record.generation), \(record.waitingFor), \(record.execution), \(record.createdAt.timeIntervalSince1970),
                \(record.updatedAt.timeIntervalSince1970))
            """)
    }

    public func updateTenant(_ record: TenantRecord, in transaction: PostgresTransaction) async throws {
        // The trigger of `tenant-v1` refuses a changed tag or context identifier.
        try await run(
            transaction,
            """
            UPDATE tenants SET ticket = \(record.ticket), tag = \(record.tag), context_id = \(record.contextIdentifier),
                state = \(record.state.rawValue), generation = \(record.generation), waiting_for = \(record.waitingFor),
                execution = \(record.execution), updated_at = \(record.updatedAt.timeIntervalSince1970)
            WHERE id = \(record.id)
            """)
    }

    public func isContextIdentifierTaken(_ value: String, in transaction: PostgresTransaction) async throws -> Bool {
        let rows = try await run(transaction, "SELECT EXISTS(SELECT 1 FROM tenants WHERE context_id = \(value)) AS taken")
        return try rows.first.map { try Columns($0)["taken"] as Bool } ?? false
    }

    public func addWaitingRound(tenant: String, in transaction: PostgresTransaction) async throws -> Int {
        let rows = try await run(
            transaction, "UPDATE tenants SET waiting_rounds = waiting_rounds + 1 WHERE id = \(tenant) RETURNING waiting_rounds")
        return try rows.first.map { try Columns($0)["waiting_rounds"] as Int } ?? 1
    }

    public func resetWaitingRounds(tenant: String, in transaction: PostgresTransaction) async throws {
        try await run(transaction, "UPDATE tenants SET waiting_rounds = 0 WHERE id = \(tenant)")
    }

    public func waitingRounds(tenant: String, in transaction: PostgresTransaction) async throws -> Int {
        let rows = try await run(transaction, "SELECT waiting_rounds FROM tenants WHERE id = \(tenant)")
        return try rows.first.map { try Columns($0)["waiting_rounds"] as Int } ?? 0
    }

    // MARK: Key generations

    public func generations(of tenant: String, in transaction: PostgresTransaction) async throws -> [KeyGeneration] {
        let generationRows = try await run(
            transaction, "SELECT * FROM key_generations WHERE tenant = \(tenant) ORDER BY number")
        let keyRows = try await run(
            transaction, "SELECT number, region, key_arn FROM generation_keys WHERE tenant = \(tenant) ORDER BY number, region")
        var keysByNumber: [Int: [(region: String, keyARN: String)]] = [:]
        for row in keyRows {
            let columns = Columns(row)
            keysByNumber[try columns["number"] as Int, default: []].append((try columns["region"], try columns["key_arn"]))
        }
        let decoder = JSONDecoder()
        return try generationRows.map { row in
            let columns = Columns(row)
            let number: Int = try columns["number"]
            let providerManaged: Bool = try columns["provider_managed"]
            let keys = try (keysByNumber[number] ?? []).map { key in
                try KeyGeneration.storedKey(
                    region: key.region, keyARN: key.keyARN, allowAlias: providerManaged, tenant: tenant, number: number)
            }
            let cause: String = try columns["cause"]
            let retired: Double? = try columns["retired_at"]
            return KeyGeneration(
                tenant: tenant, number: number, keys: keys, providerManaged: providerManaged,
                createdAt: Date(timeIntervalSince1970: try columns["created_at"]),
                cause: try decoder.decode(Cause.self, from: Data(cause.utf8)),
                retiredAt: retired.map(Date.init(timeIntervalSince1970:)))
        }
    }

    public func insertGeneration(_ generation: KeyGeneration, in transaction: PostgresTransaction) async throws {
        let cause = try AuditLog.canonicalJSON(generation.cause)
        try await run(
            transaction,
            """
            INSERT INTO key_generations (tenant, number, provider_managed, created_at, cause)
            VALUES (\(generation.tenant), \(generation.number), \(generation.providerManaged),
                \(generation.createdAt.timeIntervalSince1970), \(cause))
            """)
        for key in generation.keys {
            try await run(
                transaction,
                """
                INSERT INTO generation_keys (tenant, number, region, key_arn)
                VALUES (\(generation.tenant), \(generation.number), \(key.region), \(key.keyARN))
                """)
        }
    }

    // MARK: Policy checks

    public func savePolicyCheck(_ check: PolicyCheck, in transaction: PostgresTransaction) async throws {
        try await run(
            transaction,
            """
            INSERT INTO policy_checks (tenant, key_arn, checked_at, blocking, report)
            VALUES (\(check.tenant), \(check.keyARN), \(check.checkedAt.timeIntervalSince1970), \(check.blocking), \(check.report))
            ON CONFLICT (tenant, key_arn) DO UPDATE SET checked_at = excluded.checked_at, blocking = excluded.blocking,
                report = excluded.report
            """)
    }

    public func policyChecks(of tenant: String, in transaction: PostgresTransaction) async throws -> [PolicyCheck] {
        try await run(
            transaction,
            "SELECT key_arn, checked_at, blocking, report FROM policy_checks WHERE tenant = \(tenant) ORDER BY key_arn"
        ).map { row in
            let columns = Columns(row)
            return PolicyCheck(
                tenant: tenant, keyARN: try columns["key_arn"],
                checkedAt: Date(timeIntervalSince1970: try columns["checked_at"]), blocking: try columns["blocking"],
                report: try columns["report"])
        }
    }

    // MARK: Enrollment claims

    public func enrollmentClaims(in transaction: PostgresTransaction) async throws -> [EnrollmentClaim] {
        try await run(transaction, "SELECT * FROM enrollment_claims ORDER BY tenant").map(Self.claim)
    }

    public func enrollmentClaim(tenant: String, in transaction: PostgresTransaction) async throws -> EnrollmentClaim? {
        try await run(transaction, "SELECT * FROM enrollment_claims WHERE tenant = \(tenant)").first.map(Self.claim)
    }

    public func insertEnrollmentClaim(_ claim: EnrollmentClaim, in transaction: PostgresTransaction) async throws {
        try await run(
            transaction,
            """
            INSERT INTO enrollment_claims (tenant, ticket, execution, requested_at, outcome)
            VALUES (\(claim.tenant), \(claim.ticket), \(claim.execution), \(claim.requestedAt.timeIntervalSince1970),
                \(claim.outcome?.rawValue))
            """)
    }

    public func deleteEnrollmentClaim(tenant: String, in transaction: PostgresTransaction) async throws {
        try await run(transaction, "DELETE FROM enrollment_claims WHERE tenant = \(tenant)")
    }

    public func recordEnrollmentOutcome(
        _ outcome: EnrollmentClaim.Outcome, tenant: String, execution: String, in transaction: PostgresTransaction
    ) async throws {
        try await run(
            transaction,
            "UPDATE enrollment_claims SET outcome = \(outcome.rawValue) WHERE tenant = \(tenant) AND execution = \(execution)")
    }

    // MARK: Audit trail

    public func auditHead(in transaction: PostgresTransaction) async throws -> AuditHead? {
        try await run(transaction, "SELECT seq, hash FROM audit_head WHERE id = 1").first.map { row in
            let columns = Columns(row)
            return AuditHead(seq: try columns["seq"], hash: try columns["hash"])
        }
    }

    public func appendAuditRecord(_ record: AuditRecord, in transaction: PostgresTransaction) async throws {
        try await run(
            transaction,
            """
            INSERT INTO audit_log (seq, at, tenant, kind, action, detail, cause, prev_hash, hash)
            VALUES (\(record.seq), \(record.at), \(record.tenant), \(record.kind), \(record.action), \(record.detail),
                \(record.cause), \(record.prevHash), \(record.hash))
            """)
        try await run(
            transaction,
            """
            INSERT INTO audit_head (id, seq, hash) VALUES (1, \(record.seq), \(record.hash))
            ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
            """)
    }

    public func auditRecords(tenant: String?, in transaction: PostgresTransaction) async throws -> [AuditRecord] {
        let rows: [PostgresRow]
        if let tenant {
            rows = try await run(transaction, "SELECT * FROM audit_log WHERE tenant = \(tenant) ORDER BY seq")
        } else {
            rows = try await run(transaction, "SELECT * FROM audit_log ORDER BY seq")
        }
        return try rows.map(Self.auditRecord)
    }

    public func auditRecords(fromSeq: Int, limit: Int, in transaction: PostgresTransaction) async throws -> [AuditRecord] {
        try await run(transaction, "SELECT * FROM audit_log WHERE seq >= \(fromSeq) ORDER BY seq LIMIT \(limit)")
            .map(Self.auditRecord)
    }

    // MARK: Webhook keys and received KMS events

    public func insertWebhookKey(_ key: WebhookKey, in transaction: PostgresTransaction) async throws {
        try await run(
            transaction,
            """
            INSERT INTO webhook_keys (id, tenant, hash, created_at, revoked_at)
            VALUES (\(key.id), \(key.tenant), \(key.hash), \(key.createdAt.timeIntervalSince1970), \(key.revokedAt?.timeIntervalSince1970))
            """)
    }

    public func webhookKeys(tenant: String?, in transaction: PostgresTransaction) async throws -> [WebhookKey] {
        let rows = if let tenant {
            try await run(transaction, "SELECT * FROM webhook_keys WHERE tenant = \(tenant) ORDER BY created_at, id")
        } else {
            try await run(transaction, "SELECT * FROM webhook_keys ORDER BY tenant, created_at, id")
        }
        return try rows.map(Self.webhookKey)
    }

    public func webhookKey(hash: String, in transaction: PostgresTransaction) async throws -> WebhookKey? {
        try await run(transaction, "SELECT * FROM webhook_keys WHERE hash = \(hash)").first.map(Self.webhookKey)
    }

    public func revokeWebhookKey(id: String, at date: Date, in transaction: PostgresTransaction) async throws -> Bool {
        !(try await run(
            transaction,
            "UPDATE webhook_keys SET revoked_at = \(date.timeIntervalSince1970) WHERE id = \(id) AND revoked_at IS NULL RETURNING id")
        ).isEmpty
    }

    public func insertReceivedEvent(_ event: ReceivedEvent, in transaction: PostgresTransaction) async throws -> Bool {
        !(try await run(
            transaction,
            """
            INSERT INTO received_events (key, received_at, summary, outcome, tenants)
            VALUES (\(event.key), \(event.receivedAt.timeIntervalSince1970), \(event.summary), \(event.outcome),
                \(event.tenants.joined(separator: ",")))
            ON CONFLICT (key) DO NOTHING RETURNING key
            """)
        ).isEmpty
    }

    public func receivedEvent(key: String, in transaction: PostgresTransaction) async throws -> ReceivedEvent? {
        try await run(transaction, "SELECT * FROM received_events WHERE key = \(key)").first.map { row in
            let columns = Columns(row)
            let tenants: String = try columns["tenants"]
            return ReceivedEvent(key: try columns["key"], receivedAt: Date(timeIntervalSince1970: try columns["received_at"]),
                                 summary: try columns["summary"], outcome: try columns["outcome"],
                                 tenants: tenants.isEmpty ? [] : tenants.split(separator: ",").map(String.init))
        }
    }

    public func recordPurge(_ acknowledgement: PurgeAcknowledgement, in transaction: PostgresTransaction) async throws {
        // Not under the tenant write lock: a purge record is each process's own row, and taking the lock
        // would make every sidecar's acknowledgement wait for the others.
        try await transaction.query(
            """
            INSERT INTO purge_acknowledgements (tenant, process, suspended_at, purged_at)
            VALUES (\(acknowledgement.tenant), \(acknowledgement.process), \(acknowledgement.suspendedAt.timeIntervalSince1970),
                \(acknowledgement.purgedAt.timeIntervalSince1970))
            ON CONFLICT DO NOTHING
            """)
    }

    public func purges(of tenant: String, in transaction: PostgresTransaction) async throws -> [PurgeAcknowledgement] {
        try await transaction.query("SELECT * FROM purge_acknowledgements WHERE tenant = \(tenant) ORDER BY purged_at").map { row in
            let columns = Columns(row)
            return PurgeAcknowledgement(tenant: try columns["tenant"], process: try columns["process"],
                                        suspendedAt: Date(timeIntervalSince1970: try columns["suspended_at"]),
                                        purgedAt: Date(timeIntervalSince1970: try columns["purged_at"]))
        }
    }

    static func webhookKey(_ row: PostgresRow) throws -> WebhookKey {
        let columns = Columns(row)
        let revoked: Double? = try columns["revoked_at"]
        return WebhookKey(id: try columns["id"], tenant: try columns["tenant"], hash: try columns["hash"],
                          createdAt: Date(timeIntervalSince1970: try columns["created_at"]), revokedAt: revoked.map(Date.init(timeIntervalSince1970:)))
    }

    // MARK: Re-encryption, ledger, retirement

    public func saveReencryption(_ record: ReencryptionRecord, in transaction: PostgresTransaction) async throws {
        let progress = String(decoding: try JSONEncoder().encode(record.progress), as: UTF8.self)
        try await run(
            transaction,
            """
            INSERT INTO reencryptions (tenant, target, execution, status, progress, started_at, updated_at)
            VALUES (\(record.tenant), \(record.target), \(record.execution), \(record.status.rawValue), \(progress),
                    \(record.startedAt.timeIntervalSince1970), \(record.updatedAt.timeIntervalSince1970))
            ON CONFLICT (tenant, target) DO UPDATE SET execution = excluded.execution, status = excluded.status,
                progress = excluded.progress, updated_at = excluded.updated_at
            """)
    }

    public func reencryptions(tenant: String?, in transaction: PostgresTransaction) async throws -> [ReencryptionRecord] {
        let rows = if let tenant {
            try await run(transaction, "SELECT * FROM reencryptions WHERE tenant = \(tenant) ORDER BY started_at, target")
        } else {
            try await run(transaction, "SELECT * FROM reencryptions ORDER BY started_at, tenant, target")
        }
        return try rows.map { row in
            let columns = Columns(row)
            return try ReencryptionRecord.stored(
                tenant: try columns["tenant"], target: try columns["target"], execution: try columns["execution"], status: try columns["status"],
                progress: try columns["progress"], startedAt: try columns["started_at"], updatedAt: try columns["updated_at"])
        }
    }

    public func replaceLedger(tenant: String, source: String, entries: [LedgerEntry], in transaction: PostgresTransaction) async throws {
        try await run(transaction, "DELETE FROM ledger WHERE tenant = \(tenant) AND source = \(source)")
        for entry in entries {
            try await run(
                transaction,
                """
                INSERT INTO ledger (tenant, source, generation, items, updated_at, verified_at)
                VALUES (\(tenant), \(source), \(entry.generation), \(entry.items), \(entry.updatedAt.timeIntervalSince1970),
                        \(entry.verifiedAt?.timeIntervalSince1970))
                """)
        }
    }

    public func ledger(tenant: String, in transaction: PostgresTransaction) async throws -> [LedgerEntry] {
        try await run(transaction, "SELECT * FROM ledger WHERE tenant = \(tenant) ORDER BY source, generation").map { row in
            let columns = Columns(row)
            let verified: Double? = try columns["verified_at"]
            return LedgerEntry(tenant: try columns["tenant"], source: try columns["source"], generation: try columns["generation"],
                               items: try columns["items"], updatedAt: Date(timeIntervalSince1970: try columns["updated_at"]),
                               verifiedAt: verified.map(Date.init(timeIntervalSince1970:)))
        }
    }

    public func retireGeneration(tenant: String, number: Int, at date: Date, in transaction: PostgresTransaction) async throws -> Bool {
        !(try await run(
            transaction,
            """
            UPDATE key_generations SET retired_at = \(date.timeIntervalSince1970)
            WHERE tenant = \(tenant) AND number = \(number) AND retired_at IS NULL RETURNING number
            """)
        ).isEmpty
    }

    // MARK: Backup catalogue

    public func insertBackup(_ entry: BackupEntry, in transaction: PostgresTransaction) async throws {
        try await run(
            transaction,
            """
            INSERT INTO backups (id, tenant, generation, created_at, items, bytes, sha256, file_name, status, reason)
            VALUES (\(entry.id), \(entry.tenant), \(entry.generation), \(entry.createdAt.timeIntervalSince1970), \(entry.items),
                \(entry.bytes), \(entry.sha256), \(entry.fileName), \(entry.status.rawValue), \(entry.reason))
            """)
    }

    public func backup(id: String, in transaction: PostgresTransaction) async throws -> BackupEntry? {
        try await run(transaction, "SELECT * FROM backups WHERE id = \(id)").first.map(Self.backup)
    }

    public func backups(tenant: String?, in transaction: PostgresTransaction) async throws -> [BackupEntry] {
        let rows = if let tenant {
            try await run(transaction, "SELECT * FROM backups WHERE tenant = \(tenant) ORDER BY created_at, id")
        } else {
            try await run(transaction, "SELECT * FROM backups ORDER BY created_at, id")
        }
        return try rows.map(Self.backup)
    }

    @discardableResult
    public func disableBackups(tenant: String, before generation: Int, reason: String, in transaction: PostgresTransaction) async throws -> Int {
        try await run(
            transaction,
            """
            UPDATE backups SET status = 'disabled', reason = \(reason)
            WHERE tenant = \(tenant) AND generation < \(generation) AND status = 'available' RETURNING id
            """
        ).count
    }

    static func backup(_ row: PostgresRow) throws -> BackupEntry {
        let columns = Columns(row)
        let id: String = try columns["id"]
        let statusText: String = try columns["status"]
        guard let status = BackupEntry.Status(rawValue: statusText) else {
            throw TenantError(.storeFailure, "backup \(id) has unknown status \(statusText)")
        }
        return BackupEntry(
            id: id, tenant: try columns["tenant"], generation: try columns["generation"],
            createdAt: Date(timeIntervalSince1970: try columns["created_at"]), items: try columns["items"], bytes: try columns["bytes"],
            sha256: try columns["sha256"], fileName: try columns["file_name"], status: status, reason: try columns["reason"])
    }

    // MARK: Change feed

    public func latestTenantChange(in transaction: PostgresTransaction) async throws -> Int64 {
        try await transaction.query("SELECT COALESCE(MAX(seq), 0) AS seq FROM tenant_changes").first.map {
            try Columns($0)["seq"] as Int64
        } ?? 0
    }

    public func tenantChanges(after seq: Int64, limit: Int, in transaction: PostgresTransaction) async throws -> [TenantChange] {
        try await transaction.query("SELECT seq, tenant, at FROM tenant_changes WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)")
            .map { row in
                let columns = Columns(row)
                return TenantChange(seq: try columns["seq"], tenant: try columns["tenant"],
                                    at: Date(timeIntervalSince1970: try columns["at"]))
            }
    }

    /// Woken by the triggers' `NOTIFY cmkctl_tenants` as soon as a tenant write commits.
    public func waitForTenantChange(until deadline: Date, clock: any WorkflowClock) async throws {
        try await journal.waitForTenantChange(until: deadline, clock: clock)
    }

    static func auditRecord(_ row: PostgresRow) throws -> AuditRecord {
        let columns = Columns(row)
        return AuditRecord(
            seq: try columns["seq"], at: try columns["at"], tenant: try columns["tenant"], kind: try columns["kind"],
            action: try columns["action"], detail: try columns["detail"], cause: try columns["cause"],
            prevHash: try columns["prev_hash"], hash: try columns["hash"])
    }

    // MARK: Rows

    static func record(_ row: PostgresRow) throws -> TenantRecord {
        let columns = Columns(row)
        let id: String = try columns["id"]
        let stateText: String = try columns["state"]
        guard let state = TenantState(rawValue: stateText) else {
            throw TenantError(.storeFailure, "tenant \(id) has unknown state \(stateText)")
        }
        return TenantRecord(
            id: id, ticket: try columns["ticket"], tag: try columns["tag"], contextIdentifier: try columns["context_id"],
            state: state, generation: try columns["generation"], waitingFor: try columns["waiting_for"],
            execution: try columns["execution"], createdAt: Date(timeIntervalSince1970: try columns["created_at"]),
            updatedAt: Date(timeIntervalSince1970: try columns["updated_at"]))
    }

    static func claim(_ row: PostgresRow) throws -> EnrollmentClaim {
        let columns = Columns(row)
        return EnrollmentClaim(
            tenant: try columns["tenant"], ticket: try columns["ticket"], execution: try columns["execution"],
            requestedAt: Date(timeIntervalSince1970: try columns["requested_at"]),
            outcome: (try columns["outcome"] as String?).flatMap(EnrollmentClaim.Outcome.init(rawValue:)))
    }
}
