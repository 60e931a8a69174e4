import CMKPostgres
import PostgresNIO

/// The example tables in the PostgreSQL journal's database, written through `PostgresTransaction.query`.
public struct PostgresExampleTables: ExampleTables {
    /// Held while the tables are created: two processes running `CREATE TABLE IF NOT EXISTS` at once can
    /// both find the table missing, and the second then fails on the catalog's unique index.
    static let creationLock: Int64 = 0x636D_6B63_746C_00E0

    public let journal: PostgresJournal

    private init(journal: PostgresJournal) {
        self.journal = journal
    }

    /// The tables in `journal`'s database, created when missing.
    public static func open(journal: PostgresJournal) async throws -> PostgresExampleTables {
        let tables = PostgresExampleTables(journal: journal)
        try await tables.transaction { transaction in
            try await transaction.query("SELECT pg_advisory_xact_lock(\(creationLock))")
            try await transaction.query(
                """
                CREATE TABLE IF NOT EXISTS example_rotations (
                    id BIGSERIAL PRIMARY KEY, execution TEXT NOT NULL, tenant TEXT NOT NULL)
                """)
            try await transaction.query(
                """
                CREATE TABLE IF NOT EXISTS example_runs (
                    id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL, pid BIGINT NOT NULL,
                    started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION)
                """)
        }
        return tables
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) async throws -> T) async throws -> T {
        try await journal.transaction(write: true, body)
    }

    public func insertRotation(execution: String, tenant: String, in transaction: PostgresTransaction) async throws -> Int64 {
        let rows = try await transaction.query(
            "INSERT INTO example_rotations (execution, tenant) VALUES (\(execution), \(tenant)) RETURNING id")
        return try Self.id(rows)
    }

    public func insertRun(key: String, pid: Int, started: Double, in transaction: PostgresTransaction) async throws -> Int64 {
        let rows = try await transaction.query(
            "INSERT INTO example_runs (key, pid, started) VALUES (\(key), \(Int64(pid)), \(started)) RETURNING id")
        return try Self.id(rows)
    }

    public func endRun(id: Int64, ended: Double, in transaction: PostgresTransaction) async throws {
        try await transaction.query("UPDATE example_runs SET ended = \(ended) WHERE id = \(id)")
    }

    public func rotations(in transaction: PostgresTransaction) async throws -> [ExampleRotation] {
        try await transaction.query("SELECT id, execution, tenant FROM example_rotations ORDER BY id").map { row in
            let (id, execution, tenant) = try row.decode((Int64, String, String).self)
            return ExampleRotation(id: id, execution: execution, tenant: tenant)
        }
    }

    public func runs(in transaction: PostgresTransaction) async throws -> [ExampleRun] {
        try await transaction.query("SELECT key, pid, started, ended FROM example_runs ORDER BY started, id").map { row in
            let (key, pid, started, ended) = try row.decode((String, Int64, Double, Double?).self)
            return ExampleRun(key: key, pid: Int(pid), started: started, ended: ended)
        }
    }

    private static func id(_ rows: [PostgresRow]) throws -> Int64 {
        guard let row = rows.first else { throw ExampleHandlersError("an INSERT … RETURNING id returned no row") }
        return try row.decode(Int64.self)
    }
}
