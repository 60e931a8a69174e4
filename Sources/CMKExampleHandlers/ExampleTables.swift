/// The example handlers' own tables on one backend: `record-rotation` adds a rotation in its step's
/// transaction (so it commits with the step, exactly once), `exclusive-step` records each of its runs in
/// transactions of its own, and the crash tests read both back.
///
/// Two implementations, one per backend (`SQLiteExampleTables`, `PostgresExampleTables`), so the handlers
/// are written once (`ExampleHandlers`). Each creates its tables when it is made.
public protocol ExampleTables: Sendable {
    /// The backend's transaction: the same type as its journal's.
    associatedtype Transaction: Sendable

    /// Runs `body` in a write transaction of its own, committed when it returns (rolled back when it throws).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T
    /// Adds a rotation and returns its id.
    func insertRotation(execution: String, tenant: String, in transaction: Transaction) async throws -> Int64
    /// Adds a run that started at `started` (seconds since 1970) and has not ended; returns its id.
    func insertRun(key: String, pid: Int, started: Double, in transaction: Transaction) async throws -> Int64
    func endRun(id: Int64, ended: Double, in transaction: Transaction) async throws
    /// Every rotation, by id.
    func rotations(in transaction: Transaction) async throws -> [ExampleRotation]
    /// Every run, by start time.
    func runs(in transaction: Transaction) async throws -> [ExampleRun]
}

/// A row of `example_rotations`.
public struct ExampleRotation: Sendable, Equatable {
    public let id: Int64
    public let execution: String
    public let tenant: String
}

/// A row of `example_runs`: one run of `exclusive-step`, by the process `pid`; `ended` is nil when the
/// process died during the run.
public struct ExampleRun: Sendable, Equatable {
    public let key: String
    public let pid: Int
    public let started: Double
    public let ended: Double?
}
