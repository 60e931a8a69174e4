import CMKWorkflow
import Foundation

/// Where tenants, key generations, policy checks, enrollment claims and the audit trail are kept: the
/// domain's side of the store seam.
///
/// Each backend (SQLite in `CMKSQLite`; PostgreSQL planned) implements these primitives over the same
/// `Transaction` type as its workflow journal, so that a transactional task handler's writes here commit
/// in the transaction that records its step. The domain's rules (lifecycle moves, generation numbering,
/// the audit hash chain) are written once, in CMKTenant, on top of them (`TenantRepository+Operations`).
///
/// Inside a `write` transaction, what a method reads stays as read until the transaction ends: SQLite holds
/// its one write lock for the whole transaction; a PostgreSQL backend must lock the rows it reads there
/// (`SELECT … FOR UPDATE`) to give the same guarantee.
public protocol TenantRepository: Sendable {
    /// One open database transaction of this backend; the same type as its `WorkflowJournal.Transaction`.
    associatedtype Transaction: Sendable

    /// Runs `body` in a write transaction of its own, committed when it returns (callers outside a
    /// transactional task handler: `tenants add`, `enroll`'s claim, at-least-once handlers).
    func write<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T
    /// Runs `body` in a read-only transaction: one consistent view of the store.
    func read<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T

    // MARK: Tenants

    func tenant(_ id: String, in transaction: Transaction) async throws -> TenantRecord?
    /// Every tenant, by id.
    func tenants(in transaction: Transaction) async throws -> [TenantRecord]
    func insertTenant(_ record: TenantRecord, in transaction: Transaction) async throws
    /// Stores every field of the record; the tag and an assigned context identifier never change (the
    /// backend refuses it).
    func updateTenant(_ record: TenantRecord, in transaction: Transaction) async throws
    func isContextIdentifierTaken(_ value: String, in transaction: Transaction) async throws -> Bool
    /// Counts one more round of waiting for the customer and returns the count.
    func addWaitingRound(tenant: String, in transaction: Transaction) async throws -> Int
    func resetWaitingRounds(tenant: String, in transaction: Transaction) async throws
    func waitingRounds(tenant: String, in transaction: Transaction) async throws -> Int

    // MARK: Key generations

    /// A tenant's generations, by number.
    func generations(of tenant: String, in transaction: Transaction) async throws -> [KeyGeneration]
    func insertGeneration(_ generation: KeyGeneration, in transaction: Transaction) async throws

    // MARK: Policy checks

    /// Replaces the latest check of the same tenant and key.
    func savePolicyCheck(_ check: PolicyCheck, in transaction: Transaction) async throws
    /// The latest check per key, by key ARN.
    func policyChecks(of tenant: String, in transaction: Transaction) async throws -> [PolicyCheck]

    // MARK: Enrollment claims

    /// Every claim, by tenant.
    func enrollmentClaims(in transaction: Transaction) async throws -> [EnrollmentClaim]
    func enrollmentClaim(tenant: String, in transaction: Transaction) async throws -> EnrollmentClaim?
    func insertEnrollmentClaim(_ claim: EnrollmentClaim, in transaction: Transaction) async throws
    func deleteEnrollmentClaim(tenant: String, in transaction: Transaction) async throws
    /// Records how the claim's enrollment ended; a claim that names another execution is left alone.
    func recordEnrollmentOutcome(
        _ outcome: EnrollmentClaim.Outcome, tenant: String, execution: String, in transaction: Transaction
    ) async throws

    // MARK: Audit trail

    /// The newest entry's number and hash; nil while the trail is empty.
    func auditHead(in transaction: Transaction) async throws -> AuditHead?
    /// Appends an entry and moves the head to it, in the caller's transaction. Entries are never updated
    /// or deleted.
    func appendAuditRecord(_ record: AuditRecord, in transaction: Transaction) async throws
    /// Entries as stored, in order; all, or one tenant's.
    func auditRecords(tenant: String?, in transaction: Transaction) async throws -> [AuditRecord]
    /// At most `limit` entries numbered `fromSeq` or above, in order: one page of the whole trail.
    func auditRecords(fromSeq: Int, limit: Int, in transaction: Transaction) async throws -> [AuditRecord]

    // MARK: Webhook keys and received KMS events

    func insertWebhookKey(_ key: WebhookKey, in transaction: Transaction) async throws
    /// Every key, or one tenant's, oldest first (revoked ones included).
    func webhookKeys(tenant: String?, in transaction: Transaction) async throws -> [WebhookKey]
    func webhookKey(hash: String, in transaction: Transaction) async throws -> WebhookKey?
    /// Marks a key revoked; false when there is no such key or it was revoked already.
    func revokeWebhookKey(id: String, at date: Date, in transaction: Transaction) async throws -> Bool
    /// Records an event unless its key is there already (then false: a repeat).
    func insertReceivedEvent(_ event: ReceivedEvent, in transaction: Transaction) async throws -> Bool
    func receivedEvent(key: String, in transaction: Transaction) async throws -> ReceivedEvent?
    /// Records a process's purge of a suspended tenant (a repeat for the same suspension is ignored).
    func recordPurge(_ acknowledgement: PurgeAcknowledgement, in transaction: Transaction) async throws
    /// A tenant's purge acknowledgements, oldest first.
    func purges(of tenant: String, in transaction: Transaction) async throws -> [PurgeAcknowledgement]

    // MARK: Re-encryption, ledger, retirement

    /// Inserts or replaces the record of the tenant's re-encryption to `record.target`.
    func saveReencryption(_ record: ReencryptionRecord, in transaction: Transaction) async throws
    /// Every re-encryption, or one tenant's, oldest first.
    func reencryptions(tenant: String?, in transaction: Transaction) async throws -> [ReencryptionRecord]
    /// Replaces the ledger rows of one tenant and source with `entries` (the counts of one scan).
    func replaceLedger(tenant: String, source: String, entries: [LedgerEntry], in transaction: Transaction) async throws
    /// The tenant's ledger rows, by source and generation.
    func ledger(tenant: String, in transaction: Transaction) async throws -> [LedgerEntry]
    /// Marks generation `number` retired; false when it is missing or retired already.
    func retireGeneration(tenant: String, number: Int, at date: Date, in transaction: Transaction) async throws -> Bool

    // MARK: Backup catalogue

    /// Records a backup (or a skipped one); ids are unique.
    func insertBackup(_ entry: BackupEntry, in transaction: Transaction) async throws
    /// One backup by id; nil when the catalogue has none.
    func backup(id: String, in transaction: Transaction) async throws -> BackupEntry?
    /// Every backup, or one tenant's, oldest first.
    func backups(tenant: String?, in transaction: Transaction) async throws -> [BackupEntry]
    /// Marks every `available` backup of `tenant` under a generation below `generation` `disabled` with
    /// `reason`, and returns how many: what completing a re-encryption does (design.md section 6).
    @discardableResult
    func disableBackups(tenant: String, before generation: Int, reason: String, in transaction: Transaction) async throws -> Int

    // MARK: Change feed

    /// The newest change's number (0 while there is none): where a process that starts following begins.
    func latestTenantChange(in transaction: Transaction) async throws -> Int64
    /// At most `limit` changes numbered above `seq`, oldest first. The backend records one whenever a
    /// tenant row or one of its generations is written, by any process, through cmkctl or not.
    func tenantChanges(after seq: Int64, limit: Int, in transaction: Transaction) async throws -> [TenantChange]
    /// Sleeps until `deadline`, or sooner when the backend hears of a tenant change (a hint only: the
    /// caller reads the changes to learn what happened). A backend without notifications just sleeps.
    func waitForTenantChange(until deadline: Date, clock: any WorkflowClock) async throws
}

extension TenantRepository {
    public func waitForTenantChange(until deadline: Date, clock: any WorkflowClock) async throws {
        try await clock.sleep(until: deadline)
    }
}
