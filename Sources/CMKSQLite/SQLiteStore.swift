import CMKTenant
import CMKWorkflow

/// The embedded store: the journal and the tenant tables in one SQLite file (WAL), shared by the
/// processes of one machine.
public struct SQLiteStore: StoreBackend {
    public let journal: SQLiteJournal
    public let repository: SQLiteTenantRepository

    /// Opens (creating if needed) the file at `path` and applies pending migrations.
    public init(path: String, durability: JournalDurability = .full) throws {
        journal = try SQLiteJournal(path: path, durability: durability)
        repository = try SQLiteTenantRepository(journal: journal)
    }

    public var locationDescription: String { journal.path }

    public func close() async {}
}
