import CMKKMS
import CMKWorkflow
import Foundation
import GRDB

/// Tenants, key generations, policy checks and the audit trail, in the workflow journal's database.
///
/// Reads go through the pool; writes happen either inside a transactional task handler (the
/// `Database` the engine hands it, so they commit with the step) or, for at-least-once handlers,
/// in a write of their own that is idempotent.
public struct TenantStore: Sendable {
    public let journal: SQLiteJournal
    public let pool: DatabasePool

    /// Adds the tenant tables to the journal's database (idempotent).
    public init(journal: SQLiteJournal) throws {
        self.journal = journal
        pool = journal.pool
        do {
            try SQLiteJournal.migrate(pool, with: TenantSchema.migrator)
        } catch {
            throw TenantError(.storeFailure, "cannot migrate the tenant tables in \(journal.path): \(error)")
        }
    }

    // MARK: Reads

    public func tenant(_ id: String) throws -> TenantRecord? {
        try read { db in try Self.tenant(db, id) }
    }

    public func tenants() throws -> [TenantRecord] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM tenants ORDER BY id").map(Self.record) }
    }

    public func generations(of tenant: String) throws -> [KeyGeneration] {
        try read { db in try Self.generations(db, tenant) }
    }

    /// The latest policy report (JSON) per key.
    public func policyChecks(of tenant: String) throws -> [(keyARN: String, blocking: Bool, report: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT key_arn, blocking, report FROM policy_checks WHERE tenant = ? ORDER BY key_arn",
                             arguments: [tenant]).map { ($0["key_arn"], $0["blocking"], $0["report"]) }
        }
    }

    public func auditEntries(tenant: String?) throws -> [AuditEntry] {
        try read { db in try AuditLog.entries(db, tenant: tenant) }
    }

    public func verifyAudit() throws -> AuditVerification {
        try read { db in try AuditLog.verify(db) }
    }

    // MARK: Writes of their own (at-least-once callers)

    /// Runs `body` in a write transaction of its own.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.storeFailure, "tenant store write failed: \(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.storeFailure, "tenant store read failed: \(error)")
        }
    }

    // MARK: In-transaction operations

    static func tenant(_ db: Database, _ id: String) throws -> TenantRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM tenants WHERE id = ?", arguments: [id]).map(record)
    }

    /// Registers a tenant under generation 0 (the provider's key); a no-op when already registered.
    static func register(_ db: Database, tenant: String, ticket: String, tag: ContextTag, execution: String,
                         providerKey: String, cause: Cause, now: Date) throws {
        if try Self.tenant(db, tenant) != nil { return }
        try db.execute(
            sql: """
                INSERT INTO tenants (id, ticket, tag, state, generation, execution, created_at, updated_at)
                VALUES (?, ?, ?, ?, 0, ?, ?, ?)
                """,
            arguments: [tenant, ticket, tag.value, TenantState.enrolling.rawValue, execution, now.timeIntervalSince1970,
                        now.timeIntervalSince1970])
        let region: String
        do { region = try KeyARN(validating: providerKey, allowAlias: true).region } catch let error as KMSError {
            throw TenantError(.configuration, "providerKey: \(error.message)")
        }
        try insertGeneration(db, tenant: tenant, number: 0, keys: [.init(region: region, keyARN: providerKey)],
                             providerManaged: true, cause: cause, now: now)
        try AuditLog.append(db, tenant: tenant, kind: .transition, action: "(new) -> enrolling",
                            detail: ["tag": tag.value, "generation": "0", "providerKey": providerKey], cause: cause, at: now)
    }

    /// Assigns the context identifier once; returns the existing one when already assigned.
    static func assignContext(_ db: Database, tenant: String, candidate: () -> String, cause: Cause, now: Date) throws -> String {
        guard let record = try Self.tenant(db, tenant) else {
            throw TenantError(.unknownTenant, "tenant \(tenant) is not registered")
        }
        if let existing = record.contextIdentifier { return existing }
        // The UNIQUE index decides between tenants that drew the same value; draw again on a clash.
        for _ in 0..<16 {
            let value = candidate()
            let taken = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM tenants WHERE context_id = ?)", arguments: [value]) ?? false
            if taken { continue }
            try db.execute(sql: "UPDATE tenants SET context_id = ?, updated_at = ? WHERE id = ?",
                           arguments: [value, now.timeIntervalSince1970, tenant])
            try AuditLog.append(db, tenant: tenant, kind: .transition, action: "context identifier assigned",
                                detail: ["contextIdentifier": value], cause: cause, at: now)
            return value
        }
        throw TenantError(.conflict, "could not draw a free context identifier for tenant \(tenant)")
    }

    /// Moves the tenant to `state`, recording the transition; repeating the same move records nothing,
    /// so at-least-once callers do not duplicate history.
    static func transition(_ db: Database, tenant: String, to state: TenantState, waitingFor: String?, cause: Cause,
                           now: Date, detail: [String: String] = [:]) throws {
        guard let record = try Self.tenant(db, tenant) else {
            throw TenantError(.unknownTenant, "tenant \(tenant) is not registered")
        }
        if record.state == state && record.waitingFor == waitingFor { return }
        try db.execute(sql: "UPDATE tenants SET state = ?, waiting_for = ?, updated_at = ? WHERE id = ?",
                       arguments: [state.rawValue, waitingFor, now.timeIntervalSince1970, tenant])
        var entryDetail = detail
        if let waitingFor { entryDetail["waitingFor"] = waitingFor }
        try AuditLog.append(db, tenant: tenant, kind: .transition, action: "\(record.state.rawValue) -> \(state.rawValue)",
                            detail: entryDetail, cause: cause, at: now)
    }

    /// Counts a round of waiting for the customer and returns it (1 for the first).
    static func countWaitingRound(_ db: Database, tenant: String) throws -> Int {
        try db.execute(sql: "UPDATE tenants SET waiting_rounds = waiting_rounds + 1 WHERE id = ?", arguments: [tenant])
        return try Int.fetchOne(db, sql: "SELECT waiting_rounds FROM tenants WHERE id = ?", arguments: [tenant]) ?? 1
    }

    static func insertGeneration(_ db: Database, tenant: String, number: Int, keys: [KeyGeneration.RegionalKey],
                                 providerManaged: Bool, cause: Cause, now: Date) throws {
        if try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM key_generations WHERE tenant = ? AND number = ?)",
                             arguments: [tenant, number]) == true { return }
        try db.execute(
            sql: "INSERT INTO key_generations (tenant, number, provider_managed, created_at, cause) VALUES (?, ?, ?, ?, ?)",
            arguments: [tenant, number, providerManaged, now.timeIntervalSince1970, try AuditLog.canonicalJSON(cause)])
        for key in keys {
            try db.execute(sql: "INSERT INTO generation_keys (tenant, number, region, key_arn) VALUES (?, ?, ?, ?)",
                           arguments: [tenant, number, key.region, key.keyARN])
        }
    }

    /// Records generation `number` and makes it the tenant's current one.
    static func recordGeneration(_ db: Database, tenant: String, number: Int, keys: [KeyGeneration.RegionalKey], cause: Cause,
                                 now: Date) throws {
        try insertGeneration(db, tenant: tenant, number: number, keys: keys, providerManaged: false, cause: cause, now: now)
        guard let record = try Self.tenant(db, tenant), record.generation < number else { return }
        try db.execute(sql: "UPDATE tenants SET generation = ?, updated_at = ? WHERE id = ?",
                       arguments: [number, now.timeIntervalSince1970, tenant])
        try AuditLog.append(db, tenant: tenant, kind: .transition, action: "key generation \(record.generation) -> \(number)",
                            detail: ["keys": keys.map(\.keyARN).joined(separator: ","),
                                     "regions": keys.map(\.region).joined(separator: ",")],
                            cause: cause, at: now)
    }

    static func savePolicyCheck(_ db: Database, tenant: String, keyARN: String, blocking: Bool, report: String, now: Date) throws {
        try db.execute(
            sql: """
                INSERT INTO policy_checks (tenant, key_arn, checked_at, blocking, report) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(tenant, key_arn) DO UPDATE SET checked_at = excluded.checked_at, blocking = excluded.blocking,
                    report = excluded.report
                """,
            arguments: [tenant, keyARN, now.timeIntervalSince1970, blocking, report])
    }

    static func generations(_ db: Database, _ tenant: String) throws -> [KeyGeneration] {
        let decoder = JSONDecoder()
        return try Row.fetchAll(db, sql: "SELECT * FROM key_generations WHERE tenant = ? ORDER BY number", arguments: [tenant]).map { row in
            let number: Int = row["number"]
            let providerManaged: Bool = row["provider_managed"]
            let keys = try Row.fetchAll(db, sql: "SELECT region, key_arn FROM generation_keys WHERE tenant = ? AND number = ? ORDER BY region",
                                        arguments: [tenant, number]).map { key in
                try storedKey(region: key["region"], keyARN: key["key_arn"], allowAlias: providerManaged, tenant: tenant, number: number)
            }
            return KeyGeneration(tenant: tenant, number: number, keys: keys, providerManaged: providerManaged,
                                 createdAt: Date(timeIntervalSince1970: row["created_at"]),
                                 cause: try decoder.decode(Cause.self, from: Data((row["cause"] as String).utf8)))
        }
    }

    /// A key read back from the store, parsed like one from the command line: a row edited to hold
    /// another host in its region never reaches a client. Only generation 0 (the operator's key)
    /// may name an alias.
    static func storedKey(region: String, keyARN: String, allowAlias: Bool, tenant: String, number: Int) throws -> KeyGeneration.RegionalKey {
        let arn: KeyARN
        do { arn = try KeyARN(validating: keyARN, allowAlias: allowAlias) } catch let error as KMSError {
            throw TenantError(.storeFailure, "tenant \(tenant.escapingControlCharacters) key generation \(number) holds an invalid key: \(error.message)")
        }
        guard arn.region == region else {
            throw TenantError(.storeFailure, "tenant \(tenant.escapingControlCharacters) key generation \(number): key \(arn) is stored under region \(region.escapingControlCharacters)")
        }
        return KeyGeneration.RegionalKey(region: region, keyARN: arn.description)
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
}
