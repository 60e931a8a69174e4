import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKWorkflow
import Foundation

/// A store the example handlers can run on: a `StoreBackend` with `ExampleTables` of the same transaction.
public protocol ExampleStore: StoreBackend {
    associatedtype Tables: ExampleTables where Tables.Transaction == Journal.Transaction

    /// The example tables in this store, created when missing.
    func exampleTables() async throws -> Tables
}

extension SQLiteStore: ExampleStore {
    public func exampleTables() throws -> SQLiteExampleTables {
        try SQLiteExampleTables(journal: journal)
    }
}

extension PostgresStore: ExampleStore {
    public func exampleTables() async throws -> PostgresExampleTables {
        try await PostgresExampleTables.open(journal: journal)
    }
}

/// Opening a store by its `--store` value, as the test worker and the crash tests do.
public enum ExampleStores {
    /// A `postgres://` URL opens that database (migrating it); anything else is a SQLite file path,
    /// created when missing.
    public static func open(_ location: String) async throws -> any ExampleStore {
        if PostgresLocation.isPostgresURL(location) {
            return try await PostgresStore.open(try PostgresLocation(url: location))
        }
        return try SQLiteStore(path: location)
    }
}
