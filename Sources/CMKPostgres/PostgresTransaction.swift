import Logging
import PostgresNIO
import Synchronization

/// One open PostgreSQL transaction on a pooled connection: the journal's step and a transactional
/// handler's tenant writes run in it and commit together.
///
/// Write transactions run at READ COMMITTED and lock what they read (`FOR UPDATE`, and the tenant
/// write lock below), which gives them the guarantee the repository protocol promises: what a write
/// transaction read stays as read until it ends. Read transactions are REPEATABLE READ READ ONLY: one
/// consistent snapshot. Statements submitted after the transaction ended are refused.
public final class PostgresTransaction: Sendable {
    /// The advisory lock every tenant-writing transaction holds: tenant rows, claims and the one audit
    /// hash chain change one transaction at a time, as on SQLite. The engine's own tables do not take it.
    static let tenantWriteLock: Int64 = 0x636D_6B63_746C_0001

    let connection: PostgresConnection
    let logger: Logger
    public let isWrite: Bool
    private let state = Mutex<(open: Bool, tenantLocked: Bool)>((true, false))

    init(connection: PostgresConnection, isWrite: Bool, logger: Logger) {
        self.connection = connection
        self.isWrite = isWrite
        self.logger = logger
    }

    /// Runs one statement in this transaction and returns its rows. Transactional task handlers that keep
    /// tables of their own write them through here, so their rows commit with the step.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        guard state.withLock({ $0.open }) else {
            throw PostgresStoreError(.unavailable, "a statement was submitted after its PostgreSQL transaction ended")
        }
        return try await connection.query(query, logger: logger).collect()
    }

    /// `SELECT … FOR UPDATE` in a write transaction, a plain `SELECT` in a read-only one.
    var lockClause: String { isWrite ? " FOR UPDATE" : "" }

    /// Takes the tenant write lock once per write transaction (held until it ends); nothing in a read one.
    func lockTenantWrites() async throws {
        guard isWrite, state.withLock({ state in
            defer { state.tenantLocked = true }
            return !state.tenantLocked
        }) else { return }
        try await query("SELECT pg_advisory_xact_lock(\(Self.tenantWriteLock))")
    }

    func end() {
        state.withLock { $0.open = false }
    }
}

/// A row's columns by name, decoded with messages that name the column.
struct Columns {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    func value<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try row[name].decode(T.self)
    }

    subscript<T: PostgresDecodable>(_ name: String) -> T {
        get throws { try row[name].decode(T.self) }
    }
}
