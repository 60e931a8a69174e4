import CMKKMS
import Foundation

/// The domain's rules over a repository's primitives, written once for every backend: registering and
/// adding tenants, lifecycle moves, context identifiers, key generations, and the audit entries each records.
///
/// The `in transaction:` operations run in the caller's transaction: a transactional task handler's (so
/// they commit with its step, exactly once) or one of `write`'s.
extension TenantRepository {
    // MARK: Reads of their own

    public func tenant(_ id: String) async throws -> TenantRecord? {
        try await read { transaction in try await self.tenant(id, in: transaction) }
    }

    public func tenants() async throws -> [TenantRecord] {
        try await read { transaction in try await self.tenants(in: transaction) }
    }

    public func generations(of tenant: String) async throws -> [KeyGeneration] {
        try await read { transaction in try await self.generations(of: tenant, in: transaction) }
    }

    /// The latest policy report per key.
    public func policyChecks(of tenant: String) async throws -> [PolicyCheck] {
        try await read { transaction in try await self.policyChecks(of: tenant, in: transaction) }
    }

    /// The re-encryption record of one execution of `tenant`'s, if it has written one yet.
    public func reencryption(execution: String, tenant: String) async throws -> ReencryptionRecord? {
        try await read { transaction in try await self.reencryptions(tenant: tenant, in: transaction) }
            .first { $0.execution == execution }
    }

    public func auditEntries(tenant: String?) async throws -> [AuditEntry] {
        try await read { transaction in
            try await self.auditRecords(tenant: tenant, in: transaction).map(AuditLog.entry)
        }
    }

    /// Verifies the whole audit chain in one consistent read, `pageSize` entries in memory at a time.
    public func verifyAudit(pageSize: Int = 1000) async throws -> AuditVerification {
        try await read { transaction in
            var walker = AuditLog.ChainWalker()
            var next = 1
            while true {
                let page = try await self.auditRecords(fromSeq: next, limit: pageSize, in: transaction)
                for record in page {
                    if let broken = walker.check(record) { return broken }
                }
                guard page.count == pageSize, let last = page.last else { break }
                next = last.seq + 1
            }
            return walker.finish(head: try await self.auditHead(in: transaction))
        }
    }

    // MARK: In-transaction operations

    /// Tenants without an enrollment claim: added with `tenants add` and not enrolled yet.
    public func unclaimedTenants(in transaction: Transaction) async throws -> [TenantRecord] {
        let claimed = Set(try await enrollmentClaims(in: transaction).map(\.tenant))
        return try await tenants(in: transaction).filter { !claimed.contains($0.id) }
    }

    /// Starts a tenant's enrollment: registers a new tenant under generation 0 (the provider's key), or
    /// moves a registered tenant (or one whose enrollment failed) to `enrolling` under this ticket. A
    /// repeat for the same enrollment changes nothing.
    public func register(tenant: String, ticket: String, tag: ContextTag, execution: String, providerKey: String,
                         cause: Cause, now: Date, in transaction: Transaction) async throws {
        if var record = try await self.tenant(tenant, in: transaction) {
            guard record.execution != execution else { return }
            record.ticket = ticket
            record.execution = execution
            try await updateTenant(record, in: transaction)
            try await apply(.enrollmentStarted, tenant: tenant, waitingFor: nil, cause: cause, now: now, in: transaction)
            return
        }
        try await insertTenant(tenant: tenant, ticket: ticket, tag: tag, execution: execution, event: .enrollmentStarted,
                               providerKey: providerKey, cause: cause, now: now, in: transaction)
    }

    /// Adds a tenant on the provider's key with its context identifier, before any enrollment
    /// (`cmkctl tenants add`). The same tag again returns the existing tenant; another tag is refused.
    public func add(tenant: String, tag: ContextTag, providerKey: String, candidate: @Sendable () -> String,
                    cause: Cause, now: Date, in transaction: Transaction) async throws -> (record: TenantRecord, created: Bool) {
        if let record = try await self.tenant(tenant, in: transaction) {
            guard record.tag == tag.value else {
                throw TenantError(.conflict, "tenant \(tenant) already has the tag \(record.tag); a tag is immutable")
            }
            return (record, false)
        }
        try await insertTenant(tenant: tenant, ticket: "", tag: tag, execution: "", event: .added, providerKey: providerKey,
                               cause: cause, now: now, in: transaction)
        _ = try await assignContext(tenant: tenant, candidate: candidate, cause: cause, now: now, in: transaction)
        guard let record = try await self.tenant(tenant, in: transaction) else {
            throw TenantError(.storeFailure, "tenant \(tenant) vanished")
        }
        return (record, true)
    }

    private func insertTenant(tenant: String, ticket: String, tag: ContextTag, execution: String,
                              event: TenantLifecycle.Event, providerKey: String, cause: Cause, now: Date,
                              in transaction: Transaction) async throws {
        let transition = try TenantLifecycle(state: nil).apply(event)
        try await insertTenant(
            TenantRecord(id: tenant, ticket: ticket, tag: tag.value, contextIdentifier: nil, state: transition.to, generation: 0,
                         waitingFor: nil, execution: execution, createdAt: now, updatedAt: now),
            in: transaction)
        let region: String
        do { region = try KeyARN(validating: providerKey, allowAlias: true).region } catch let error as KMSError {
            throw TenantError(.configuration, "providerKey: \(error.message)")
        }
        try await insertGeneration(tenant: tenant, number: 0, keys: [.init(region: region, keyARN: providerKey)],
                                   providerManaged: true, cause: cause, now: now, in: transaction)
        try await AuditLog.append(self, in: transaction, tenant: tenant, kind: .transition, action: "(new) -> \(transition.to.rawValue)",
                                  detail: ["tag": tag.value, "generation": "0", "providerKey": providerKey], cause: cause, at: now)
    }

    /// Assigns the context identifier once; returns the existing one when already assigned.
    public func assignContext(tenant: String, candidate: @Sendable () -> String, cause: Cause, now: Date,
                              in transaction: Transaction) async throws -> String {
        guard var record = try await self.tenant(tenant, in: transaction) else {
            throw TenantError(.unknownTenant, "tenant \(tenant) is not registered")
        }
        if let existing = record.contextIdentifier { return existing }
        // The backend's unique index decides between tenants that drew the same value; draw again on a clash.
        for _ in 0..<16 {
            let value = candidate()
            if try await isContextIdentifierTaken(value, in: transaction) { continue }
            record.contextIdentifier = value
            record.updatedAt = now
            try await updateTenant(record, in: transaction)
            try await AuditLog.append(self, in: transaction, tenant: tenant, kind: .transition, action: "context identifier assigned",
                                      detail: ["contextIdentifier": value], cause: cause, at: now)
            return value
        }
        throw TenantError(.conflict, "could not draw a free context identifier for tenant \(tenant)")
    }

    /// Applies a lifecycle event, the only way a tenant's state changes: the lifecycle decides the new
    /// state (or refuses the move), the row and the audit trail record it. Repeating a move records
    /// nothing, so at-least-once callers do not duplicate history; a changed `waitingFor` alone is
    /// recorded.
    @discardableResult
    public func apply(_ event: TenantLifecycle.Event, tenant: String, waitingFor: String?, cause: Cause, now: Date,
                      detail: [String: String] = [:], in transaction: Transaction) async throws -> TenantLifecycle.Transition {
        guard var record = try await self.tenant(tenant, in: transaction) else {
            throw TenantError(.unknownTenant, "tenant \(tenant) is not registered")
        }
        let transition = try record.lifecycle.apply(event)
        if !transition.changed && record.waitingFor == waitingFor { return transition }
        let from = record.state
        record.state = transition.to
        record.waitingFor = waitingFor
        record.updatedAt = now
        try await updateTenant(record, in: transaction)
        var entryDetail = detail
        if let waitingFor { entryDetail["waitingFor"] = waitingFor }
        try await AuditLog.append(self, in: transaction, tenant: tenant, kind: .transition, action: "\(from.rawValue) -> \(transition.to.rawValue)",
                                  detail: entryDetail, cause: cause, at: now)
        return transition
    }

    /// Adds generation `number` unless the tenant already has one with that number.
    func insertGeneration(tenant: String, number: Int, keys: [KeyGeneration.RegionalKey], providerManaged: Bool,
                          cause: Cause, now: Date, in transaction: Transaction) async throws {
        if try await generations(of: tenant, in: transaction).contains(where: { $0.number == number }) { return }
        try await insertGeneration(
            KeyGeneration(tenant: tenant, number: number, keys: keys, providerManaged: providerManaged, createdAt: now, cause: cause),
            in: transaction)
    }

    /// Records generation `number` and makes it the tenant's current one.
    public func recordGeneration(tenant: String, number: Int, keys: [KeyGeneration.RegionalKey], cause: Cause, now: Date,
                                 in transaction: Transaction) async throws {
        try await insertGeneration(tenant: tenant, number: number, keys: keys, providerManaged: false, cause: cause, now: now,
                                   in: transaction)
        guard var record = try await self.tenant(tenant, in: transaction), record.generation < number else { return }
        let previous = record.generation
        record.generation = number
        record.updatedAt = now
        try await updateTenant(record, in: transaction)
        try await AuditLog.append(self, in: transaction, tenant: tenant, kind: .transition, action: "key generation \(previous) -> \(number)",
                                  detail: ["keys": keys.map(\.keyARN).joined(separator: ","),
                                           "regions": keys.map(\.region).joined(separator: ",")],
                                  cause: cause, at: now)
    }
}
