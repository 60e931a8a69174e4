import CMKWorkflow

/// One opened store: a workflow journal and the tenant repository that shares its transactions.
///
/// The CLI and the server open one (`CMKSQLite`'s file, or `CMKPostgres`'s server) and work on it
/// through these protocols only, so every command runs unchanged on either backend.
public protocol StoreBackend: Sendable {
    associatedtype Journal: WorkflowJournal
    associatedtype Repository: TenantRepository where Repository.Transaction == Journal.Transaction

    var journal: Journal { get }
    var repository: Repository { get }
    /// Where the store is, for messages: a file path, or a URL without its password.
    var locationDescription: String { get }
    /// Releases connections and background tasks; the store is unusable afterwards.
    func close() async
}
