import Foundation

/// One write to a tenant's row or generations, as the store's change feed records it.
///
/// The feed says which tenant changed, not how: a process that follows it forgets what it holds of the
/// tenant (its snapshot and cached data keys) and reads the tenant again when next asked.
public struct TenantChange: Sendable, Equatable {
    /// Increasing with commit order on SQLite; on PostgreSQL increasing with the order in which tenant
    /// writes took the tenant write lock (a write outside cmkctl may commit out of order, which is why a
    /// follower looks back a little, see `TenantChangeFollower`).
    public let seq: Int64
    public let tenant: String
    public let at: Date

    public init(seq: Int64, tenant: String, at: Date) {
        self.seq = seq
        self.tenant = tenant
        self.at = at
    }
}
