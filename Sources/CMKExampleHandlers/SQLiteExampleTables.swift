import CMKSQLite
import GRDB

/// The example tables in the SQLite journal's file, written through `SQLiteTransaction.execute`.
public struct SQLiteExampleTables: ExampleTables {
    public let journal: SQLiteJournal

    /// Creates the tables when missing; SQLite's write lock makes concurrent creators wait their turn.
    public init(journal: SQLiteJournal) throws {
        self.journal = journal
        try journal.pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS example_rotations (
                        id INTEGER PRIMARY KEY, execution TEXT NOT NULL, tenant TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS example_runs (
                        id INTEGER PRIMARY KEY, key TEXT NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL, ended REAL);
                    """)
        }
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) async throws -> T) async throws -> T {
        try await journal.transaction(body)
    }

    public func insertRotation(execution: String, tenant: String, in transaction: SQLiteTransaction) async throws -> Int64 {
        try await transaction.execute { db in
            try db.execute(
                sql: "INSERT INTO example_rotations (execution, tenant) VALUES (?, ?)", arguments: [execution, tenant])
            return db.lastInsertedRowID
        }
    }

    public func insertRun(key: String, pid: Int, started: Double, in transaction: SQLiteTransaction) async throws -> Int64 {
        try await transaction.execute { db in
            try db.execute(
                sql: "INSERT INTO example_runs (key, pid, started) VALUES (?, ?, ?)", arguments: [key, pid, started])
            return db.lastInsertedRowID
        }
    }

    public func endRun(id: Int64, ended: Double, in transaction: SQLiteTransaction) async throws {
        try await transaction.execute { db in
            try db.execute(sql: "UPDATE example_runs SET ended = ? WHERE id = ?", arguments: [ended, id])
        }
    }

    public func rotations(in transaction: SQLiteTransaction) async throws -> [ExampleRotation] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT id, execution, tenant FROM example_rotations ORDER BY id").map {
                ExampleRotation(id: $0["id"], execution: $0["execution"], tenant: $0["tenant"])
            }
        }
    }

    public func runs(in transaction: SQLiteTransaction) async throws -> [ExampleRun] {
        try await transaction.execute { db in
            try Row.fetchAll(db, sql: "SELECT key, pid, started, ended FROM example_runs ORDER BY started, id").map {
                ExampleRun(key: $0["key"], pid: $0["pid"], started: $0["started"], ended: $0["ended"])
            }
        }
    }
}
