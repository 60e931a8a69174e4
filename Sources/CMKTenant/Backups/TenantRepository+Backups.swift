import Foundation

/// The backup catalogue's reads of their own, and disabling as the re-encryption does it (audited).
extension TenantRepository {
    public func backup(id: String) async throws -> BackupEntry? {
        try await read { transaction in try await self.backup(id: id, in: transaction) }
    }

    /// Every backup, or one tenant's, oldest first.
    public func backups(tenant: String?) async throws -> [BackupEntry] {
        try await read { transaction in try await self.backups(tenant: tenant, in: transaction) }
    }

    /// Disables the tenant's available backups under generations below `generation`, with an audit entry
    /// when there were any, in the caller's transaction: what a completed re-encryption to `generation`
    /// does, in the transaction that records the completion.
    @discardableResult
    public func disableOlderBackups(tenant: String, generation: Int, reason: String, cause: Cause, now: Date,
                                    in transaction: Transaction) async throws -> Int {
        let count = try await disableBackups(tenant: tenant, before: generation, reason: reason, in: transaction)
        if count > 0 {
            try await AuditLog.append(self, in: transaction, tenant: tenant, kind: .check, action: "backups disabled",
                                      detail: ["count": String(count), "beforeGeneration": String(generation), "reason": reason],
                                      cause: cause, at: now)
        }
        return count
    }

    /// `disableOlderBackups` in a write transaction of its own.
    @discardableResult
    public func disableOlderBackups(tenant: String, generation: Int, reason: String, cause: Cause, now: Date) async throws -> Int {
        try await write { transaction in
            try await self.disableOlderBackups(tenant: tenant, generation: generation, reason: reason, cause: cause, now: now,
                                               in: transaction)
        }
    }
}
