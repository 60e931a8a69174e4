import CMKWorkflow
import Foundation
import GRDB

/// The embedded journal: one SQLite file in WAL mode, shared by any number of worker processes.
///
/// Every write is a `BEGIN IMMEDIATE` transaction, so writers are serialized by SQLite's write lock
/// (and within a process by GRDB's writer queue) and a step's events and row change commit together.
/// Database work runs on GRDB's queues through its async API, never on the cooperative thread pool.
public final class SQLiteJournal: WorkflowJournal {
    public typealias Transaction = SQLiteTransaction

    /// The underlying pool, shared with `SQLiteTenantRepository`; transactional handlers reach it through
    /// their `SQLiteTransaction`. Package-visible only (tests and benchmarks): no caller outside this
    /// package writes around the journal.
    package let pool: DatabasePool
    public let path: String
    public let durability: JournalDurability
    /// Bumped by this process's `start`, `signal` and `cancel`, so a worker in the same process (`serve`)
    /// takes new work at once; other processes find it at their next poll.
    private let hints = WakeHints()

    /// Opens (creating if needed) the journal at `path` and applies pending migrations.
    public init(path: String, durability: JournalDurability = .full) throws {
        self.path = path
        self.durability = durability
        var configuration = Configuration()
        // Other worker processes hold the write lock briefly; wait for it rather than failing.
        configuration.busyMode = .timeout(30)
        let synchronous = durability.synchronousPragma
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        do {
            // Owner-only before SQLite touches it: the -wal and -shm files take the database file's mode.
            try OwnerOnlyFiles.createDirectories(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            try OwnerOnlyFiles.createFile(path)
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB's DatabasePool sets its writer to synchronous=NORMAL when it turns WAL on, which happens after
            // prepareDatabase ran; without this, `.full` would silently be NORMAL and commits would not be fsynced.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            }
            try Self.migrate(pool, with: JournalSchema.migrator)
        } catch {
            throw WorkflowError(.storeFailure, "cannot open journal at \(path): \(error)")
        }
    }

    /// Applies a migrator's pending migrations to `pool`; modules that keep their tables in the journal's
    /// database (the tenant store) migrate through here too.
    ///
    /// GRDB's migrator reads which migrations are applied outside the transactions that apply them, so
    /// processes opening a new database together would race (the loser's CREATE TABLE failing once per
    /// migration the winner committed meanwhile). An exclusive `flock` on `<database>.migrate-lock` makes
    /// them take turns: the first applies everything, the others find it applied. The lock file stays
    /// (removing it would let a late process lock a different file).
    public static func migrate(_ pool: DatabasePool, with migrator: DatabaseMigrator) throws {
        let lockPath = pool.path + ".migrate-lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, OwnerOnlyFiles.fileMode)
        guard descriptor >= 0 else {
            throw WorkflowError(.storeFailure, "cannot open the migration lock \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        fchmod(descriptor, OwnerOnlyFiles.fileMode)
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw WorkflowError(.storeFailure, "cannot lock \(lockPath): \(String(cString: strerror(errno)))")
            }
        }
        defer { flock(descriptor, LOCK_UN) }
        try migrator.migrate(pool)
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction of its own, with database errors passed on as they are.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var value: T?
            try db.inTransaction(.immediate) {
                value = try body(db)
                return .commit
            }
            return value!
        }
    }

    /// Runs async `body` in a `BEGIN IMMEDIATE` transaction of its own: committed when it returns, rolled back
    /// when it throws. Errors are passed on as they are.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) async throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var value: T?
            try db.inTransaction(.immediate) {
                value = try SQLiteTransaction.serve(db, body)
                return .commit
            }
            return value!
        }
    }

    /// Runs async `body` in a read transaction on one of the pool's readers (a consistent snapshot).
    public func readTransaction<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) async throws -> T) async throws -> T {
        try await pool.read { db in try SQLiteTransaction.serve(db, body) }
    }

    /// A journal write: database failures become `.storeFailure`.
    func journalWrite<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await write(body)
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw WorkflowError(.storeFailure, "journal write failed: \(error)")
        }
    }

    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw WorkflowError(.storeFailure, "journal read failed: \(error)")
        }
    }

    public func start(name: String, input: JSONValue, definition: StateMachineDefinition, now: Date) async throws -> (
        snapshot: ExecutionSnapshot, created: Bool
    ) {
        let result = try await journalWrite { db in
            if let existing = try Self.load(db, name) {
                return (existing, false)
            }
            let step = ExecutionStepper(definition: definition).start(name: name, input: input, now: now)
            try Self.insert(db, step.snapshot)
            try Self.append(db, step.events)
            return (step.snapshot, true)
        }
        hints.bump()
        return result
    }

    /// Sleeps until `deadline`, or until this process starts, signals or cancels an execution.
    public func waitForWork(until deadline: Date, clock: any WorkflowClock) async throws {
        let seen = hints.generation
        let hints = self.hints
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(until: deadline) }
            group.addTask { await hints.wait(after: seen) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    public func claim(owner: String, leaseSeconds: Double, now: Date) async throws -> ExecutionSnapshot? {
        try await claim(owner: owner, leaseSeconds: leaseSeconds, now: now, advance: { _ in nil })?.claimed
    }

    public func claim(
        owner: String, leaseSeconds: Double, now: Date,
        advance: @escaping @Sendable (ExecutionSnapshot) throws -> StepResult?
    ) async throws -> (claimed: ExecutionSnapshot, step: StepResult?)? {
        let time = now.timeIntervalSince1970
        return try await journalWrite { db in
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM executions
                        WHERE status = 'running' AND wake_at <= ?
                          AND (lease_owner IS NULL OR lease_expires <= ? OR lease_owner = ?)
                        ORDER BY wake_at LIMIT 1
                        """), arguments: [time, time, owner])
            guard let row else { return nil }
            let claimed = try Self.snapshot(row)
            try db.cachedStatement(sql: "UPDATE executions SET lease_owner = ?, lease_expires = ? WHERE name = ?")
                .execute(arguments: [owner, time + leaseSeconds, claimed.name])
            // The write lock is held from the SELECT to the commit, so the planned step cannot be stale; it is
            // still stored through the same fence as every other step.
            guard let planned = try advance(claimed) else { return (claimed, nil) }
            try Self.store(
                db, planned, execution: claimed.name, owner: owner, expectedSeq: claimed.nextSeq,
                leaseSeconds: leaseSeconds, now: now)
            return (claimed, planned)
        }
    }

    public func renewLease(execution: String, owner: String, leaseSeconds: Double, now: Date) async throws -> Bool {
        try await journalWrite { db in
            try db.execute(
                sql: """
                    UPDATE executions SET lease_expires = ?
                    WHERE name = ? AND lease_owner = ? AND status = 'running'
                    """, arguments: [now.timeIntervalSince1970 + leaseSeconds, execution, owner])
            return db.changesCount == 1
        }
    }

    public func releaseLease(execution: String, owner: String) async throws {
        try await journalWrite { db in
            try db.execute(
                sql: "UPDATE executions SET lease_owner = NULL, lease_expires = NULL WHERE name = ? AND lease_owner = ?",
                arguments: [execution, owner])
        }
    }

    public func commit(
        _ step: StepResult, execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date
    ) async throws -> StepResult {
        try await journalWrite { db in
            try Self.store(
                db, step, execution: execution, owner: owner, expectedSeq: expectedSeq, leaseSeconds: leaseSeconds,
                now: now)
            return step
        }
    }

    public func commit(
        execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date,
        build: @escaping @Sendable (SQLiteTransaction) async throws -> StepResult
    ) async throws -> StepResult {
        do {
            return try await transaction { transaction in
                let step = try await StepTransactionScope.$execution.withValue(execution) { try await build(transaction) }
                return try await transaction.execute { db in
                    try Self.store(
                        db, step, execution: execution, owner: owner, expectedSeq: expectedSeq,
                        leaseSeconds: leaseSeconds, now: now)
                    return step
                }
            }
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw WorkflowError(.storeFailure, "journal write failed: \(error)")
        }
    }

    /// SQLite's `SAVEPOINT`; a `DatabaseError` from the body is the database's failure, not the handler's,
    /// and aborts the whole step.
    public func savepoint<T: Sendable>(
        in transaction: SQLiteTransaction, _ body: @escaping @Sendable (SQLiteTransaction) async throws -> T
    ) async throws -> Result<T, any Error> {
        try await transaction.execute { db in try db.execute(sql: "SAVEPOINT task_handler") }
        do {
            let value = try await body(transaction)
            try await transaction.execute { db in try db.execute(sql: "RELEASE SAVEPOINT task_handler") }
            return .success(value)
        } catch let error as DatabaseError {
            throw error
        } catch {
            try await transaction.execute { db in
                try db.execute(sql: "ROLLBACK TO SAVEPOINT task_handler")
                try db.execute(sql: "RELEASE SAVEPOINT task_handler")
            }
            return .failure(error)
        }
    }

    /// Writes a step's row change and events, fenced by lease and `next_seq`; throws `.leaseLost` when stale.
    private static func store(
        _ db: Database, _ step: StepResult, execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double,
        now: Date
    ) throws {
        // The fence is in the UPDATE's WHERE clause: another worker may have taken over after our lease
        // expired, or a cancel or signal may have changed the row. Either way this step's view is stale;
        // throwing rolls back the whole transaction, including a transactional handler's writes.
        let keepsLease = !step.releasesLease
        try updateFenced(
            db, step.snapshot, owner: owner, expectedSeq: expectedSeq,
            leaseOwner: keepsLease ? owner : nil,
            leaseExpires: keepsLease ? now.timeIntervalSince1970 + leaseSeconds : nil)
        guard db.changesCount == 1 else {
            throw WorkflowError(.leaseLost, "execution \(execution) changed under worker \(owner)")
        }
        try append(db, step.events)
    }

    public func nextWake(now: Date) async throws -> Date? {
        try await read { db in
            // An execution leased by a live worker is not due for anyone else before its lease expires,
            // so both times count; otherwise an idle worker would spin on another worker's execution.
            let wake = try Double.fetchOne(
                db,
                sql: """
                    SELECT MIN(MAX(wake_at, COALESCE(lease_expires, 0))) FROM executions WHERE status = 'running'
                    """)
            return wake.map { Date(timeIntervalSince1970: $0) }
        }
    }

    public func signal(execution: String, payload: JSONValue, now: Date) async throws -> ExecutionSnapshot {
        let result = try await journalWrite { db in
            guard let snapshot = try Self.load(db, execution) else {
                throw WorkflowError(.executionNotFound, "no execution named \"\(execution)\"")
            }
            let step = try snapshot.signalled(payload: payload, now: now)
            try Self.append(db, step.events)
            try Self.update(db, step.snapshot)
            return step.snapshot
        }
        hints.bump()
        return result
    }

    public func cancel(execution: String, now: Date) async throws -> ExecutionSnapshot {
        let result = try await journalWrite { db in
            guard let snapshot = try Self.load(db, execution) else {
                throw WorkflowError(.executionNotFound, "no execution named \"\(execution)\"")
            }
            let step = try snapshot.cancelled(now: now)
            try Self.append(db, step.events)
            try Self.update(db, step.snapshot)
            try db.execute(
                sql: "UPDATE executions SET lease_owner = NULL, lease_expires = NULL WHERE name = ?",
                arguments: [execution])
            return step.snapshot
        }
        hints.bump()
        return result
    }

    public func execution(named name: String) async throws -> ExecutionSnapshot? {
        try await read { db in try Self.load(db, name) }
    }

    public func lease(of execution: String) async throws -> ExecutionLease? {
        try await read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT lease_owner, lease_expires FROM executions WHERE name = ? AND lease_owner IS NOT NULL",
                arguments: [execution])
            guard let row, let owner: String = row["lease_owner"], let expires: Double = row["lease_expires"] else { return nil }
            return ExecutionLease(owner: owner, expiresAt: Date(timeIntervalSince1970: expires))
        }
    }

    public func executions(status: ExecutionStatus?) async throws -> [ExecutionSnapshot] {
        try await read { db in
            let rows: [Row]
            if let status {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM executions WHERE status = ? ORDER BY started_at, name",
                    arguments: [status.rawValue])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM executions ORDER BY started_at, name")
            }
            return try rows.map(Self.snapshot)
        }
    }

    public func history(of name: String) async throws -> [WorkflowEvent] {
        try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM events WHERE execution = ? ORDER BY seq", arguments: [name])
            return try rows.map { row in
                guard let kind = EventKind(rawValue: row["kind"]) else {
                    throw WorkflowError(.storeFailure, "unknown event kind \(row["kind"] as String) in journal")
                }
                return WorkflowEvent(
                    execution: row["execution"], seq: row["seq"], at: Date(timeIntervalSince1970: row["at"]),
                    kind: kind, state: row["state"], attempt: row["attempt"],
                    detail: try JSONValue(parsing: row["detail"]))
            }
        }
    }

    // MARK: Row mapping

    static func load(_ db: Database, _ name: String) throws -> ExecutionSnapshot? {
        try Row.fetchOne(db, sql: "SELECT * FROM executions WHERE name = ?", arguments: [name]).map(snapshot)
    }

    static func snapshot(_ row: Row) throws -> ExecutionSnapshot {
        guard let status = ExecutionStatus(rawValue: row["status"]), let phase = ExecutionPhase(rawValue: row["phase"])
        else {
            throw WorkflowError(.storeFailure, "unreadable execution row \(row["name"] as String)")
        }
        let retryCounts = try JSONValue(parsing: row["retry_counts"])
        let counts: [Int]
        if case .array(let values) = retryCounts {
            counts = values.compactMap { $0.numberValue.flatMap { Int(exactly: $0) } }
        } else {
            counts = []
        }
        func date(_ column: String) -> Date? {
            (row[column] as Double?).map { Date(timeIntervalSince1970: $0) }
        }
        func json(_ column: String) throws -> JSONValue? {
            try (row[column] as String?).map { try JSONValue(parsing: $0) }
        }
        return ExecutionSnapshot(
            name: row["name"], workflow: row["workflow"], status: status, stateName: row["state"],
            stateInput: try JSONValue(parsing: row["state_input"]), phase: phase, attempt: row["attempt"],
            retryCounts: counts, dueAt: date("due_at"), deadline: date("deadline"), signal: try json("signal"),
            input: try JSONValue(parsing: row["input"]), output: try json("output"), error: row["error"],
            cause: row["cause"], startedAt: date("started_at")!, updatedAt: date("updated_at")!,
            nextSeq: row["next_seq"])
    }

    private static func arguments(_ snapshot: ExecutionSnapshot) -> StatementArguments {
        let wake: Double? =
            snapshot.status == .running ? (snapshot.wakeAt?.timeIntervalSince1970 ?? 0) : nil
        let counts = JSONValue.array(snapshot.retryCounts.map { .number(Double($0)) }).jsonText
        return [
            "name": snapshot.name, "workflow": snapshot.workflow, "status": snapshot.status.rawValue,
            "state": snapshot.stateName, "state_input": snapshot.stateInput.jsonText,
            "phase": snapshot.phase.rawValue, "attempt": snapshot.attempt, "retry_counts": counts,
            "due_at": snapshot.dueAt?.timeIntervalSince1970, "deadline": snapshot.deadline?.timeIntervalSince1970,
            "signal": snapshot.signal?.jsonText, "input": snapshot.input.jsonText,
            "output": snapshot.output?.jsonText, "error": snapshot.error, "cause": snapshot.cause,
            "started_at": snapshot.startedAt.timeIntervalSince1970,
            "updated_at": snapshot.updatedAt.timeIntervalSince1970, "next_seq": snapshot.nextSeq, "wake_at": wake,
        ]
    }

    static func insert(_ db: Database, _ snapshot: ExecutionSnapshot) throws {
        try db.execute(
            sql: """
                INSERT INTO executions (name, workflow, status, state, state_input, phase, attempt, retry_counts,
                    due_at, deadline, signal, input, output, error, cause, started_at, updated_at, next_seq, wake_at)
                VALUES (:name, :workflow, :status, :state, :state_input, :phase, :attempt, :retry_counts,
                    :due_at, :deadline, :signal, :input, :output, :error, :cause, :started_at, :updated_at,
                    :next_seq, :wake_at)
                """, arguments: arguments(snapshot))
    }

    static func update(_ db: Database, _ snapshot: ExecutionSnapshot) throws {
        try db.cachedStatement(
            sql: """
                UPDATE executions SET workflow = :workflow, status = :status, state = :state,
                    state_input = :state_input, phase = :phase, attempt = :attempt, retry_counts = :retry_counts,
                    due_at = :due_at, deadline = :deadline, signal = :signal, input = :input, output = :output,
                    error = :error, cause = :cause, started_at = :started_at, updated_at = :updated_at,
                    next_seq = :next_seq, wake_at = :wake_at
                WHERE name = :name
                """
        ).execute(arguments: arguments(snapshot))
    }

    /// The hot path of every step: only the columns a step can change, positional arguments, a cached statement.
    static func updateFenced(
        _ db: Database, _ snapshot: ExecutionSnapshot, owner: String, expectedSeq: Int, leaseOwner: String?,
        leaseExpires: Double?
    ) throws {
        let counts =
            snapshot.retryCounts.isEmpty
            ? "[]" : JSONValue.array(snapshot.retryCounts.map { .number(Double($0)) }).jsonText
        let fence: [(any DatabaseValueConvertible)?] = [snapshot.name, expectedSeq, owner]
        guard snapshot.status == .running else {
            // The execution ended: store its result, clear its schedule and lease.
            let values: [(any DatabaseValueConvertible)?] = [
                snapshot.status.rawValue, snapshot.output?.jsonText, snapshot.error, snapshot.cause,
                snapshot.updatedAt.timeIntervalSince1970, snapshot.nextSeq,
            ]
            try db.cachedStatement(
                sql: """
                    UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, updated_at = ?, next_seq = ?,
                        due_at = NULL, signal = NULL, wake_at = NULL, lease_owner = NULL, lease_expires = NULL
                    WHERE name = ? AND next_seq = ? AND lease_owner = ? AND status = 'running'
                    """
            ).execute(arguments: StatementArguments(values + fence))
            return
        }
        let values: [(any DatabaseValueConvertible)?] = [
            snapshot.stateName, snapshot.stateInput.jsonText, snapshot.phase.rawValue, snapshot.attempt, counts,
            snapshot.dueAt?.timeIntervalSince1970, snapshot.signal?.jsonText,
            snapshot.updatedAt.timeIntervalSince1970, snapshot.nextSeq, snapshot.wakeAt?.timeIntervalSince1970 ?? 0,
            leaseOwner, leaseExpires,
        ]
        try db.cachedStatement(
            sql: """
                UPDATE executions SET state = ?, state_input = ?, phase = ?, attempt = ?, retry_counts = ?,
                    due_at = ?, signal = ?, updated_at = ?, next_seq = ?, wake_at = ?, lease_owner = ?,
                    lease_expires = ?
                WHERE name = ? AND next_seq = ? AND lease_owner = ? AND status = 'running'
                """
        ).execute(arguments: StatementArguments(values + fence))
    }

    static func append(_ db: Database, _ events: [WorkflowEvent]) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO events (execution, seq, at, kind, state, attempt, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        for event in events {
            try statement.execute(
                arguments: [
                    event.execution, event.seq, event.at.timeIntervalSince1970, event.kind.rawValue, event.state,
                    event.attempt, event.detail.jsonText,
                ])
        }
    }
}

