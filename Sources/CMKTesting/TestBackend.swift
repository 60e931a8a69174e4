import CMKPostgres
import CMKSQLite
import CMKTenant
import Foundation
import GRDB

/// The store backends a conformance test runs on: `@Test(arguments: TestBackend.allCases)`.
public enum TestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// A fresh, empty store of this kind: a SQLite file in `directory`, or a new database on the suite's
    /// PostgreSQL server (`PostgresServer.shared`).
    public func openFresh(directory: String, packageRoot: String) async throws -> FreshStore {
        switch self {
        case .sqlite:
            let path = directory + "/store.sqlite"
            return FreshStore(backend: self, store: try SQLiteStore(path: path), location: path, server: nil)
        case .postgres:
            let server = try PostgresServer.shared(packageRoot: packageRoot)
            let url = try server.freshDatabase()
            let store = try await PostgresStore.open(try PostgresLocation(url: url), maximumConnections: 4)
            return FreshStore(backend: self, store: store, location: url, server: server)
        }
    }
}

/// An opened test store, with what a test needs beyond the product's API: its location for processes
/// it starts, and raw SQL for tests that play an attacker with database access.
public struct FreshStore: Sendable {
    public let backend: TestBackend
    public let store: any StoreBackend
    /// The `--store` value for a `cmkctl` process: the file path or the database URL.
    public let location: String
    let server: PostgresServer?

    /// Another handle on the same store, as a second process opens it (its own connections).
    public func openAnother() async throws -> any StoreBackend {
        switch backend {
        case .sqlite: try SQLiteStore(path: location)
        case .postgres: try await PostgresStore.open(try PostgresLocation(url: location), maximumConnections: 4)
        }
    }

    /// Runs SQL around the product, as someone with the database's credentials could.
    public func rawSQL(_ sql: String) async throws {
        switch backend {
        case .sqlite:
            guard let sqlite = store as? SQLiteStore else { throw PostgresServerError("not a SQLite store") }
            try await sqlite.journal.pool.write { db in try db.execute(sql: sql) }
        case .postgres:
            guard let server, let database = location.split(separator: "/").last.map(String.init) else {
                throw PostgresServerError("no PostgreSQL server")
            }
            try server.sql(sql, database: database)
        }
    }

    /// The statement that removes the audit log's append-only guard on this backend.
    public var dropAuditGuardSQL: String {
        switch backend {
        case .sqlite: "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
        case .postgres: "DROP TRIGGER audit_log_append_only ON audit_log"
        }
    }
}
