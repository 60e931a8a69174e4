import CMKTenant

extension StoreOptions {
    /// The read-only view `status` and `history` print: the store alone, so those commands take
    /// only `--store` (no operator configuration, definitions or lease to configure).
    func openOverview() throws -> TenantOverview {
        let journal = try openExisting()
        return TenantOverview(journal: journal, store: try TenantStore(journal: journal))
    }
}
