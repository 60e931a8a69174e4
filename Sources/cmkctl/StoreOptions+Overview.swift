import CMKSQLite
import CMKTenant

extension StoreOptions {
    /// The read-only view `status` and `history` print: the store alone, so those commands take
    /// only `--store` (no operator configuration, definitions or lease to configure).
    func openOverview() throws -> TenantOverview<SQLiteTenantRepository> {
        let journal = try openExisting()
        return TenantOverview(journal: journal, repository: try SQLiteTenantRepository(journal: journal))
    }
}
