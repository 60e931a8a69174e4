import CMKTenant
import CMKWorkflow

extension StoreOptions {
    /// The read-only view `status` and `history` print: the store alone, so those commands take
    /// only `--store` (no operator configuration, definitions or lease to configure).
    func withOverview<T>(_ body: (TenantOverviewReader) async throws -> T) async throws -> T {
        try await withStore(create: false) { store in try await body(TenantOverviewReader(store)) }
    }
}

/// A `TenantOverview` over whichever backend was opened.
struct TenantOverviewReader {
    let status: (String?) async throws -> [TenantStatus]
    let history: (String) async throws -> [TenantTimelineEntry]

    init<Store: StoreBackend>(_ store: Store) {
        let overview = TenantOverview(journal: store.journal, repository: store.repository)
        status = { try await overview.status(tenant: $0) }
        history = { try await overview.history(tenant: $0) }
    }
}
