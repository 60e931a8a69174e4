import CMKTenant
import CMKWorkflow
import Foundation
import GRDB

/// Tenants, key generations, policy checks, enrollment claims and the audit trail in the SQLite journal's
/// database, so that a transactional task handler's tenant writes commit with its workflow step.
///
/// Every operation runs in an `SQLiteTransaction`: the one the engine hands a transactional handler, or one
/// of `write`'s or `read`'s own. Database errors inside a transaction pass through unchanged (so the engine
/// treats them as the store's failure, not the handler's); `write` and `read` report them as
/// `TenantError.storeFailure`.
public struct SQLiteTenantRepository: TenantRepository {
    public typealias Transaction = SQLiteTransaction

    public let journal: SQLiteJournal

    /// Adds the tenant tables to the journal's database (idempotent).
    public init(journal: SQLiteJournal) throws {
        self.journal = journal
        do {
            try SQLiteJournal.migrate(journal.pool, with: TenantSchema.migrator)
        } catch {
            throw TenantError(.storeFailure, "cannot migrate the tenant tables in \(journal.path): \(error)")
        }
    }

    package var pool: DatabasePool { journal.pool }

    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) async throws -> T) async throws -> T {
        if let execution = StepTransactionScope.execution {
            throw TenantError(.storeFailure, "a transactional step of \(execution) opened a write transaction of its own; it must write through the step's transaction")
        }
        do {
            return try await journal.transaction(body)
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.storeFailure, "tenant store write failed: \(error)")
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) async throws -> T) async throws -> T {
        do {
            return try await journal.readTransaction(body)
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.storeFailure, "tenant store read failed: \(error)")
        }
    }

    // MARK: Tenants

    public func tenant(_ id: String, in transaction: SQLiteTransaction) async throws -> TenantRecord? {
        try await transaction.execute { db in try Self.tenant(db, id) }
    }

    public func tenants(in transaction: SQLiteTransaction) async throws -> [TenantRecord] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tenants ORDER BY id").map(Self.record)
        }
    }

    public func insertTenant(_ record: TenantRecord, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(
                sql: """
                    INSERT INTO tenants (id, ticket, tag, context_id, state, generation, waiting_for, execution, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [record.id, record.ticket, record.tag, record.contextIdentifier, record.state.rawValue, record.generation,
                            record.waitingFor, record.execution, record.createdAt.timeIntervalSince1970,
                            record.updatedAt.timeIntervalSince1970])
        }
    }

    public func updateTenant(_ record: TenantRecord, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            // The triggers of `tenant-v1` refuse a changed tag or context identifier.
            try db.execute(
                sql: """
                    UPDATE tenants SET ticket = ?, tag = ?, context_id = ?, state = ?, generation = ?, waiting_for = ?,
                        execution = ?, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [record.ticket, record.tag, record.contextIdentifier, record.state.rawValue, record.generation,
                            record.waitingFor, record.execution, record.updatedAt.timeIntervalSince1970, record.id])
        }
    }

    public func isContextIdentifierTaken(_ value: String, in transaction: SQLiteTransaction) async throws -> Bool {
        try await transaction.execute { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM tenants WHERE context_id = ?)", arguments: [value]) ?? false
        }
    }

    public func addWaitingRound(tenant: String, in transaction: SQLiteTransaction) async throws -> Int {
        try await transaction.execute { db in
            try db.execute(sql: "UPDATE tenants SET waiting_rounds = waiting_rounds + 1 WHERE id = ?", arguments: [tenant])
            return try Int.fetchOne(db, sql: "SELECT waiting_rounds FROM tenants WHERE id = ?", arguments: [tenant]) ?? 1
        }
    }

    public func resetWaitingRounds(tenant: String, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(sql: "UPDATE tenants SET waiting_rounds = 0 WHERE id = ?", arguments: [tenant])
        }
    }

    public func waitingRounds(tenant: String, in transaction: SQLiteTransaction) async throws -> Int {
        try await transaction.execute { db in
            try Int.fetchOne(db, sql: "SELECT waiting_rounds FROM tenants WHERE id = ?", arguments: [tenant]) ?? 0
        }
    }

    // MARK: Key generations

    public func generations(of tenant: String, in transaction: SQLiteTransaction) async throws -> [KeyGeneration] {
        try await transaction.execute { db in try Self.generations(db, tenant) }
    }

    public func insertGeneration(_ generation: KeyGeneration, in transaction: SQLiteTransaction) async throws {
        let cause = try AuditLog.canonicalJSON(generation.cause)
        try await transaction.execute { db in
            try db.execute(
                sql: "INSERT INTO key_generations (tenant, number, provider_managed, created_at, cause) VALUES (?, ?, ?, ?, ?)",
                arguments: [generation.tenant, generation.number, generation.providerManaged,
                            generation.createdAt.timeIntervalSince1970, cause])
            for key in generation.keys {
                try db.execute(sql: "INSERT INTO generation_keys (tenant, number, region, key_arn) VALUES (?, ?, ?, ?)",
                               arguments: [generation.tenant, generation.number, key.region, key.keyARN])
            }
        }
    }

    // MARK: Policy checks

    public func savePolicyCheck(_ check: PolicyCheck, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(
                sql: """
                    INSERT INTO policy_checks (tenant, key_arn, checked_at, blocking, report) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(tenant, key_arn) DO UPDATE SET checked_at = excluded.checked_at, blocking = excluded.blocking,
                        report = excluded.report
                    """,
                arguments: [check.tenant, check.keyARN, check.checkedAt.timeIntervalSince1970, check.blocking, check.report])
        }
    }

    public func policyChecks(of tenant: String, in transaction: SQLiteTransaction) async throws -> [PolicyCheck] {
        try await transaction.execute { db in
            try Row.fetchAll(
                db, sql: "SELECT key_arn, checked_at, blocking, report FROM policy_checks WHERE tenant = ? ORDER BY key_arn",
                arguments: [tenant]
            ).map { row in
                PolicyCheck(tenant: tenant, keyARN: row["key_arn"], checkedAt: Date(timeIntervalSince1970: row["checked_at"]),
                            blocking: row["blocking"], report: row["report"])
            }
        }
    }

    // MARK: Enrollment claims

    public func enrollmentClaims(in transaction: SQLiteTransaction) async throws -> [EnrollmentClaim] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT * FROM enrollment_claims ORDER BY tenant").map(Self.claim)
        }
    }

    public func enrollmentClaim(tenant: String, in transaction: SQLiteTransaction) async throws -> EnrollmentClaim? {
        try await transaction.execute { db in
            try Row.fetchOne(db, sql: "SELECT * FROM enrollment_claims WHERE tenant = ?", arguments: [tenant]).map(Self.claim)
        }
    }

    public func insertEnrollmentClaim(_ claim: EnrollmentClaim, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(
                sql: "INSERT INTO enrollment_claims (tenant, ticket, execution, requested_at, outcome) VALUES (?, ?, ?, ?, ?)",
                arguments: [claim.tenant, claim.ticket, claim.execution, claim.requestedAt.timeIntervalSince1970,
                            claim.outcome?.rawValue])
        }
    }

    public func deleteEnrollmentClaim(tenant: String, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(sql: "DELETE FROM enrollment_claims WHERE tenant = ?", arguments: [tenant])
        }
    }

    public func recordEnrollmentOutcome(
        _ outcome: EnrollmentClaim.Outcome, tenant: String, execution: String, in transaction: SQLiteTransaction
    ) async throws {
        try await transaction.execute { db in
            try db.execute(sql: "UPDATE enrollment_claims SET outcome = ? WHERE tenant = ? AND execution = ?",
                           arguments: [outcome.rawValue, tenant, execution])
        }
    }

    // MARK: Audit trail

    public func auditHead(in transaction: SQLiteTransaction) async throws -> AuditHead? {
        try await transaction.execute { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE id = 1").map { AuditHead(seq: $0["seq"], hash: $0["hash"]) }
        }
    }

    public func appendAuditRecord(_ record: AuditRecord, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(
                sql: """
                    INSERT INTO audit_log (seq, at, tenant, kind, action, detail, cause, prev_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [record.seq, record.at, record.tenant, record.kind, record.action, record.detail, record.cause,
                            record.prevHash, record.hash])
            try db.execute(
                sql: "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                arguments: [record.seq, record.hash])
        }
    }

    public func auditRecords(tenant: String?, in transaction: SQLiteTransaction) async throws -> [AuditRecord] {
        try await transaction.execute { db in
            let rows: [Row]
            if let tenant {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE tenant = ? ORDER BY seq", arguments: [tenant])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY seq")
            }
            return rows.map(Self.auditRecord)
        }
    }

    public func auditRecords(fromSeq: Int, limit: Int, in transaction: SQLiteTransaction) async throws -> [AuditRecord] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?", arguments: [fromSeq, limit])
                .map(Self.auditRecord)
        }
    }

    // MARK: Webhook keys and received KMS events

    public func insertWebhookKey(_ key: WebhookKey, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(sql: "INSERT INTO webhook_keys (id, tenant, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key.id, key.tenant, key.hash, key.createdAt.timeIntervalSince1970, key.revokedAt?.timeIntervalSince1970])
        }
    }

    public func webhookKeys(tenant: String?, in transaction: SQLiteTransaction) async throws -> [WebhookKey] {
        try await transaction.execute { db in
            let rows = if let tenant {
                try Row.fetchAll(db, sql: "SELECT * FROM webhook_keys WHERE tenant = ? ORDER BY created_at, id", arguments: [tenant])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM webhook_keys ORDER BY tenant, created_at, id")
            }
            return rows.map(Self.webhookKey)
        }
    }

    public func webhookKey(hash: String, in transaction: SQLiteTransaction) async throws -> WebhookKey? {
        try await transaction.execute { db in
            try Row.fetchOne(db, sql: "SELECT * FROM webhook_keys WHERE hash = ?", arguments: [hash]).map(Self.webhookKey)
        }
    }

    public func revokeWebhookKey(id: String, at date: Date, in transaction: SQLiteTransaction) async throws -> Bool {
        try await transaction.execute { db in
            try db.execute(sql: "UPDATE webhook_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           arguments: [date.timeIntervalSince1970, id])
            return db.changesCount > 0
        }
    }

    public func insertReceivedEvent(_ event: ReceivedEvent, in transaction: SQLiteTransaction) async throws -> Bool {
        try await transaction.execute { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO received_events (key, received_at, summary, outcome, tenants) VALUES (?, ?, ?, ?, ?)",
                arguments: [event.key, event.receivedAt.timeIntervalSince1970, event.summary, event.outcome, event.tenants.joined(separator: ",")])
            return db.changesCount > 0
        }
    }

    public func receivedEvent(key: String, in transaction: SQLiteTransaction) async throws -> ReceivedEvent? {
        try await transaction.execute { db in
            try Row.fetchOne(db, sql: "SELECT * FROM received_events WHERE key = ?", arguments: [key]).map { row in
                let tenants: String = row["tenants"]
                return ReceivedEvent(key: row["key"], receivedAt: Date(timeIntervalSince1970: row["received_at"]), summary: row["summary"],
                                     outcome: row["outcome"], tenants: tenants.isEmpty ? [] : tenants.split(separator: ",").map(String.init))
            }
        }
    }

    public func recordPurge(_ acknowledgement: PurgeAcknowledgement, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO purge_acknowledgements (tenant, process, suspended_at, purged_at) VALUES (?, ?, ?, ?)",
                arguments: [acknowledgement.tenant, acknowledgement.process, acknowledgement.suspendedAt.timeIntervalSince1970,
                            acknowledgement.purgedAt.timeIntervalSince1970])
        }
    }

    public func purges(of tenant: String, in transaction: SQLiteTransaction) async throws -> [PurgeAcknowledgement] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT * FROM purge_acknowledgements WHERE tenant = ? ORDER BY purged_at", arguments: [tenant]).map { row in
                PurgeAcknowledgement(tenant: row["tenant"], process: row["process"], suspendedAt: Date(timeIntervalSince1970: row["suspended_at"]),
                                     purgedAt: Date(timeIntervalSince1970: row["purged_at"]))
            }
        }
    }

    static func webhookKey(_ row: Row) -> WebhookKey {
        let revoked: Double? = row["revoked_at"]
        return WebhookKey(id: row["id"], tenant: row["tenant"], hash: row["hash"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                          revokedAt: revoked.map(Date.init(timeIntervalSince1970:)))
    }

    // MARK: Re-encryption, ledger, retirement

    public func saveReencryption(_ record: ReencryptionRecord, in transaction: SQLiteTransaction) async throws {
        let progress = String(decoding: try JSONEncoder().encode(record.progress), as: UTF8.self)
        try await transaction.execute { db in
            try db.execute(
                sql: """
                    INSERT INTO reencryptions (tenant, target, execution, status, progress, started_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (tenant, target) DO UPDATE SET execution = excluded.execution, status = excluded.status,
                        progress = excluded.progress, updated_at = excluded.updated_at
                    """,
                arguments: [record.tenant, record.target, record.execution, record.status.rawValue, progress,
                            record.startedAt.timeIntervalSince1970, record.updatedAt.timeIntervalSince1970])
        }
    }

    public func reencryptions(tenant: String?, in transaction: SQLiteTransaction) async throws -> [ReencryptionRecord] {
        try await transaction.execute { db in
            let rows = if let tenant {
                try Row.fetchAll(db, sql: "SELECT * FROM reencryptions WHERE tenant = ? ORDER BY started_at, target", arguments: [tenant])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM reencryptions ORDER BY started_at, tenant, target")
            }
            return try rows.map { row in
                try ReencryptionRecord.stored(tenant: row["tenant"], target: row["target"], execution: row["execution"], status: row["status"],
                                              progress: row["progress"], startedAt: row["started_at"], updatedAt: row["updated_at"])
            }
        }
    }

    public func replaceLedger(tenant: String, source: String, entries: [LedgerEntry], in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(sql: "DELETE FROM ledger WHERE tenant = ? AND source = ?", arguments: [tenant, source])
            for entry in entries {
                try db.execute(
                    sql: "INSERT INTO ledger (tenant, source, generation, items, updated_at, verified_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [tenant, source, entry.generation, entry.items, entry.updatedAt.timeIntervalSince1970,
                                entry.verifiedAt?.timeIntervalSince1970])
            }
        }
    }

    public func ledger(tenant: String, in transaction: SQLiteTransaction) async throws -> [LedgerEntry] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ledger WHERE tenant = ? ORDER BY source, generation", arguments: [tenant]).map { row in
                let verified: Double? = row["verified_at"]
                return LedgerEntry(tenant: row["tenant"], source: row["source"], generation: row["generation"], items: row["items"],
                                   updatedAt: Date(timeIntervalSince1970: row["updated_at"]), verifiedAt: verified.map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    public func retireGeneration(tenant: String, number: Int, at date: Date, in transaction: SQLiteTransaction) async throws -> Bool {
        try await transaction.execute { db in
            try db.execute(sql: "UPDATE key_generations SET retired_at = ? WHERE tenant = ? AND number = ? AND retired_at IS NULL",
                           arguments: [date.timeIntervalSince1970, tenant, number])
            return db.changesCount > 0
        }
    }

    // MARK: Backup catalogue

    public func insertBackup(_ entry: BackupEntry, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(
                sql: """
                    INSERT INTO backups (id, tenant, generation, created_at, items, bytes, sha256, file_name, status, reason)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [entry.id, entry.tenant, entry.generation, entry.createdAt.timeIntervalSince1970, entry.items, entry.bytes,
                            entry.sha256, entry.fileName, entry.status.rawValue, entry.reason])
        }
    }

    public func backup(id: String, in transaction: SQLiteTransaction) async throws -> BackupEntry? {
        try await transaction.execute { db in
            try Row.fetchOne(db, sql: "SELECT * FROM backups WHERE id = ?", arguments: [id]).map(Self.backup)
        }
    }

    public func backups(tenant: String?, in transaction: SQLiteTransaction) async throws -> [BackupEntry] {
        try await transaction.execute { db in
            let rows = if let tenant {
                try Row.fetchAll(db, sql: "SELECT * FROM backups WHERE tenant = ? ORDER BY created_at, id", arguments: [tenant])
            } else {
                try Row.fetchAll(db, sql: "SELECT * FROM backups ORDER BY created_at, id")
            }
            return try rows.map(Self.backup)
        }
    }

    @discardableResult
    public func disableBackups(tenant: String, before generation: Int, reason: String, in transaction: SQLiteTransaction) async throws -> Int {
        try await transaction.execute { db in
            try db.execute(sql: "UPDATE backups SET status = 'disabled', reason = ? WHERE tenant = ? AND generation < ? AND status = 'available'",
                           arguments: [reason, tenant, generation])
            return db.changesCount
        }
    }

    static func backup(_ row: Row) throws -> BackupEntry {
        guard let status = BackupEntry.Status(rawValue: row["status"]) else {
            throw TenantError(.storeFailure, "backup \(row["id"] as String) has unknown status \(row["status"] as String)")
        }
        return BackupEntry(id: row["id"], tenant: row["tenant"], generation: row["generation"],
                           createdAt: Date(timeIntervalSince1970: row["created_at"]), items: row["items"], bytes: row["bytes"],
                           sha256: row["sha256"], fileName: row["file_name"], status: status, reason: row["reason"])
    }

    // MARK: Change feed

    public func latestTenantChange(in transaction: SQLiteTransaction) async throws -> Int64 {
        try await transaction.execute { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM tenant_changes") ?? 0
        }
    }

    public func tenantChanges(after seq: Int64, limit: Int, in transaction: SQLiteTransaction) async throws -> [TenantChange] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT seq, tenant, at FROM tenant_changes WHERE seq > ? ORDER BY seq LIMIT ?",
                             arguments: [seq, limit]).map { row in
                TenantChange(seq: row["seq"], tenant: row["tenant"], at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    static func auditRecord(_ row: Row) -> AuditRecord {
        AuditRecord(seq: row["seq"], at: row["at"], tenant: row["tenant"], kind: row["kind"], action: row["action"],
                    detail: row["detail"], cause: row["cause"], prevHash: row["prev_hash"], hash: row["hash"])
    }

    // MARK: Row mapping

    static func tenant(_ db: Database, _ id: String) throws -> TenantRecord? {
        // Cached statements: every tenant encrypt and decrypt reads these, and preparing them anew
        // (parse, authorizer) cost more than the rest of a cache hit.
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM tenants WHERE id = ?"), arguments: [id]).map(record)
    }

    static func generations(_ db: Database, _ tenant: String) throws -> [KeyGeneration] {
        let decoder = JSONDecoder()
        return try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM key_generations WHERE tenant = ? ORDER BY number"),
                                arguments: [tenant]).map { row in
            let number: Int = row["number"]
            let providerManaged: Bool = row["provider_managed"]
            let keys = try Row.fetchAll(try db.cachedStatement(sql: "SELECT region, key_arn FROM generation_keys WHERE tenant = ? AND number = ? ORDER BY region"),
                                        arguments: [tenant, number]).map { key in
                try KeyGeneration.storedKey(region: key["region"], keyARN: key["key_arn"], allowAlias: providerManaged, tenant: tenant,
                                            number: number)
            }
            let retired: Double? = row["retired_at"]
            return KeyGeneration(tenant: tenant, number: number, keys: keys, providerManaged: providerManaged,
                                 createdAt: Date(timeIntervalSince1970: row["created_at"]),
                                 cause: try decoder.decode(Cause.self, from: Data((row["cause"] as String).utf8)),
                                 retiredAt: retired.map(Date.init(timeIntervalSince1970:)))
        }
    }

    static func record(_ row: Row) throws -> TenantRecord {
        guard let state = TenantState(rawValue: row["state"]) else {
            throw TenantError(.storeFailure, "tenant \(row["id"] as String) has unknown state \(row["state"] as String)")
        }
        return TenantRecord(id: row["id"], ticket: row["ticket"], tag: row["tag"], contextIdentifier: row["context_id"], state: state,
                            generation: row["generation"], waitingFor: row["waiting_for"], execution: row["execution"],
                            createdAt: Date(timeIntervalSince1970: row["created_at"]),
                            updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    static func claim(_ row: Row) -> EnrollmentClaim {
        EnrollmentClaim(tenant: row["tenant"], ticket: row["ticket"], execution: row["execution"],
                        requestedAt: Date(timeIntervalSince1970: row["requested_at"]),
                        outcome: (row["outcome"] as String?).flatMap(EnrollmentClaim.Outcome.init(rawValue:)))
    }
}
