import CMKWorkflow
import Foundation
import Logging
import PostgresNIO

/// The workflow journal on PostgreSQL, for workers on many hosts sharing one database.
///
/// - Claims lock the chosen row with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on
///   each other and never take the same execution.
/// - Every step is fenced: its UPDATE names the lease owner and the `next_seq` it planned from, and a
///   transactional step locks its row (`FOR UPDATE`) before the handler runs. A worker whose lease
///   passed to another can no longer commit, and its handler's writes roll back with the step.
/// - `start`, `signal` and `cancel` send `NOTIFY cmkctl_work` as a wake-up hint; idle workers still
///   poll, which stays the truth (a notification is lost when nobody listens).
///
/// Times are the callers' clock, stored as seconds since 1970 like the SQLite journal's.
public final class PostgresJournal: WorkflowJournal {
    public typealias Transaction = PostgresTransaction

    static let wakeChannel = "cmkctl_work"
    /// Sent by the tenant tables' triggers (migration `tenant-v4-change-feed`), with the tenant as payload.
    static let tenantChannel = "cmkctl_tenants"

    let client: PostgresClient
    let logger: Logger
    private let hints = WakeHints()
    private let listener = ListenerTask()
    private let tenantHints = WakeHints()
    private let tenantListener = ListenerTask()

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    // MARK: Transactions

    /// Runs `body` in a transaction of its own: committed when it returns, rolled back when it throws.
    /// Database errors are passed on as they are.
    public func transaction<T: Sendable>(
        write: Bool, _ body: @escaping @Sendable (PostgresTransaction) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            let begin: PostgresQuery =
                write ? "BEGIN ISOLATION LEVEL READ COMMITTED" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            try await connection.query(begin, logger: logger)
            let transaction = PostgresTransaction(connection: connection, isWrite: write, logger: logger)
            do {
                let value = try await body(transaction)
                transaction.end()
                try await connection.query("COMMIT", logger: logger)
                return value
            } catch {
                transaction.end()
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// A journal transaction: database failures become `.storeFailure`, the engine's own errors pass.
    func journalTransaction<T: Sendable>(
        write: Bool = true, _ body: @escaping @Sendable (PostgresTransaction) async throws -> T
    ) async throws -> T {
        do {
            return try await transaction(write: write, body)
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw WorkflowError(.storeFailure, "journal \(write ? "write" : "read") failed: \(describe(error))")
        }
    }

    // MARK: WorkflowJournal

    public func start(name: String, input: JSONValue, definition: StateMachineDefinition, now: Date) async throws -> (
        snapshot: ExecutionSnapshot, created: Bool
    ) {
        let step = ExecutionStepper(definition: definition).start(name: name, input: input, now: now)
        return try await journalTransaction { transaction in
            // ON CONFLICT: two starters of one name both succeed, and the second gets the first's execution.
            let inserted = try await transaction.query(Self.insertQuery(step.snapshot))
            guard !inserted.isEmpty else {
                guard let existing = try await Self.load(transaction, name) else {
                    throw WorkflowError(.storeFailure, "execution \(name) vanished while starting")
                }
                return (existing, false)
            }
            try await Self.append(transaction, step.events)
            try await transaction.query("SELECT pg_notify(\(Self.wakeChannel), '')")
            return (step.snapshot, true)
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
        return try await journalTransaction { transaction in
            let rows = try await transaction.query(
                """
                SELECT * FROM executions
                WHERE status = 'running' AND wake_at <= \(time)
                  AND (lease_owner IS NULL OR lease_expires <= \(time) OR lease_owner = \(owner))
                ORDER BY wake_at LIMIT 1
                FOR UPDATE SKIP LOCKED
                """)
            guard let row = rows.first else { return nil }
            let claimed = try Self.snapshot(row)
            try await transaction.query(
                "UPDATE executions SET lease_owner = \(owner), lease_expires = \(time + leaseSeconds) WHERE name = \(claimed.name)")
            // The row is locked until the commit, so the planned step cannot be stale; it is still stored
            // through the same fence as every other step.
            guard let planned = try advance(claimed) else { return (claimed, nil) }
            try await Self.store(
                transaction, planned, execution: claimed.name, owner: owner, expectedSeq: claimed.nextSeq,
                leaseSeconds: leaseSeconds, now: now)
            return (claimed, planned)
        }
    }

    public func renewLease(execution: String, owner: String, leaseSeconds: Double, now: Date) async throws -> Bool {
        let expires = now.timeIntervalSince1970 + leaseSeconds
        return try await journalTransaction { transaction in
            let rows = try await transaction.query(
                """
                UPDATE executions SET lease_expires = \(expires)
                WHERE name = \(execution) AND lease_owner = \(owner) AND status = 'running'
                RETURNING name
                """)
            return rows.count == 1
        }
    }

    public func releaseLease(execution: String, owner: String) async throws {
        try await journalTransaction { transaction in
            try await transaction.query(
                """
                UPDATE executions SET lease_owner = NULL, lease_expires = NULL
                WHERE name = \(execution) AND lease_owner = \(owner)
                """)
        }
    }

    public func commit(
        _ step: StepResult, execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date
    ) async throws -> StepResult {
        try await journalTransaction { transaction in
            try await Self.store(
                transaction, step, execution: execution, owner: owner, expectedSeq: expectedSeq,
                leaseSeconds: leaseSeconds, now: now)
            return step
        }
    }

    public func commit(
        execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date,
        build: @escaping @Sendable (PostgresTransaction) async throws -> StepResult
    ) async throws -> StepResult {
        try await journalTransaction { transaction in
            // Lock the row first: while the handler runs, no other worker can claim or step this execution,
            // and a worker that lost its lease finds out before its handler writes anything.
            let fenced = try await transaction.query(
                """
                SELECT name FROM executions
                WHERE name = \(execution) AND next_seq = \(expectedSeq) AND lease_owner = \(owner) AND status = 'running'
                FOR UPDATE
                """)
            guard !fenced.isEmpty else {
                throw WorkflowError(.leaseLost, "execution \(execution) changed under worker \(owner)")
            }
            let step = try await StepTransactionScope.$execution.withValue(execution) { try await build(transaction) }
            try await Self.store(
                transaction, step, execution: execution, owner: owner, expectedSeq: expectedSeq,
                leaseSeconds: leaseSeconds, now: now)
            return step
        }
    }

    /// PostgreSQL's `SAVEPOINT`; a database error from the body aborts the whole step (the transaction is
    /// unusable after one), a handler's own error rolls back to the savepoint and becomes `.failure`.
    public func savepoint<T: Sendable>(
        in transaction: PostgresTransaction, _ body: @escaping @Sendable (PostgresTransaction) async throws -> T
    ) async throws -> Result<T, any Error> {
        try await transaction.query("SAVEPOINT task_handler")
        do {
            let value = try await body(transaction)
            try await transaction.query("RELEASE SAVEPOINT task_handler")
            return .success(value)
        } catch let error as PSQLError {
            throw error
        } catch {
            try await transaction.query("ROLLBACK TO SAVEPOINT task_handler")
            try await transaction.query("RELEASE SAVEPOINT task_handler")
            return .failure(error)
        }
    }

    public func nextWake(now: Date) async throws -> Date? {
        try await journalTransaction(write: false) { transaction in
            // A live lease keeps an execution from others until it expires, so both times count.
            let rows = try await transaction.query(
                """
                SELECT MIN(GREATEST(wake_at, COALESCE(lease_expires, 0))) AS wake
                FROM executions WHERE status = 'running'
                """)
            let wake: Double? = try rows.first.flatMap { try Columns($0)["wake"] as Double? }
            return wake.map { Date(timeIntervalSince1970: $0) }
        }
    }

    public func signal(execution: String, payload: JSONValue, now: Date) async throws -> ExecutionSnapshot {
        try await journalTransaction { transaction in
            guard let snapshot = try await Self.load(transaction, execution) else {
                throw WorkflowError(.executionNotFound, "no execution named \"\(execution)\"")
            }
            let step = try snapshot.signalled(payload: payload, now: now)
            try await Self.append(transaction, step.events)
            try await transaction.query(Self.updateQuery(step.snapshot, clearLease: false))
            try await transaction.query("SELECT pg_notify(\(Self.wakeChannel), '')")
            return step.snapshot
        }
    }

    public func cancel(execution: String, now: Date) async throws -> ExecutionSnapshot {
        try await journalTransaction { transaction in
            guard let snapshot = try await Self.load(transaction, execution) else {
                throw WorkflowError(.executionNotFound, "no execution named \"\(execution)\"")
            }
            let step = try snapshot.cancelled(now: now)
            try await Self.append(transaction, step.events)
            try await transaction.query(Self.updateQuery(step.snapshot, clearLease: true))
            return step.snapshot
        }
    }

    public func execution(named name: String) async throws -> ExecutionSnapshot? {
        try await journalTransaction(write: false) { transaction in try await Self.load(transaction, name) }
    }

    public func lease(of execution: String) async throws -> ExecutionLease? {
        try await journalTransaction(write: false) { transaction in
            let rows = try await transaction.query(
                """
                SELECT lease_owner, lease_expires FROM executions WHERE name = \(execution) AND lease_owner IS NOT NULL
                """)
            guard let row = rows.first else { return nil }
            let columns = Columns(row)
            return ExecutionLease(
                owner: try columns["lease_owner"], expiresAt: Date(timeIntervalSince1970: try columns["lease_expires"]))
        }
    }

    public func executions(status: ExecutionStatus?) async throws -> [ExecutionSnapshot] {
        try await journalTransaction(write: false) { transaction in
            let rows: [PostgresRow]
            if let status {
                rows = try await transaction.query(
                    "SELECT * FROM executions WHERE status = \(status.rawValue) ORDER BY started_at, name")
            } else {
                rows = try await transaction.query("SELECT * FROM executions ORDER BY started_at, name")
            }
            return try rows.map(Self.snapshot)
        }
    }

    public func history(of name: String) async throws -> [WorkflowEvent] {
        try await journalTransaction(write: false) { transaction in
            let rows = try await transaction.query("SELECT * FROM events WHERE execution = \(name) ORDER BY seq")
            return try rows.map { row in
                let columns = Columns(row)
                let kindText: String = try columns["kind"]
                guard let kind = EventKind(rawValue: kindText) else {
                    throw WorkflowError(.storeFailure, "unknown event kind \(kindText) in journal")
                }
                return WorkflowEvent(
                    execution: try columns["execution"], seq: try columns["seq"],
                    at: Date(timeIntervalSince1970: try columns["at"]), kind: kind, state: try columns["state"],
                    attempt: try columns["attempt"], detail: try JSONValue(parsing: try columns["detail"] as String))
            }
        }
    }

    /// Sleeps until `deadline`, or until a `NOTIFY` says an execution was started or signalled.
    public func waitForWork(until deadline: Date, clock: any WorkflowClock) async throws {
        try await wait(on: Self.wakeChannel, hints: hints, listener: listener, until: deadline, clock: clock)
    }

    /// Sleeps until `deadline`, or until a trigger's `NOTIFY` says a tenant changed.
    func waitForTenantChange(until deadline: Date, clock: any WorkflowClock) async throws {
        try await wait(on: Self.tenantChannel, hints: tenantHints, listener: tenantListener, until: deadline, clock: clock)
    }

    private func wait(on channel: String, hints: WakeHints, listener: ListenerTask, until deadline: Date,
                      clock: any WorkflowClock) async throws {
        listener.startOnce { [client, logger] in
            await Self.listen(client: client, channel: channel, hints: hints, logger: logger)
        }
        let seen = hints.generation
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(until: deadline) }
            group.addTask { await hints.wait(after: seen) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Stops the LISTEN connections, if any were started.
    func stopListening() {
        listener.cancel()
        tenantListener.cancel()
    }

    /// Holds one pooled connection listening on `channel`; reconnects after a failure.
    private static func listen(client: PostgresClient, channel: String, hints: WakeHints, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        for try await _ in notifications {
                            hints.bump()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("LISTEN connection lost; polling meanwhile", metadata: ["channel": "\(channel)", "error": "\(describe(error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: Rows

    static func load(_ transaction: PostgresTransaction, _ name: String) async throws -> ExecutionSnapshot? {
        let lock = transaction.lockClause
        let rows = try await transaction.query(
            PostgresQuery(unsafeSQL: "SELECT * FROM executions WHERE name = $1" + lock, binds: binds(name)))
        return try rows.first.map(snapshot)
    }

    static func snapshot(_ row: PostgresRow) throws -> ExecutionSnapshot {
        let columns = Columns(row)
        let name: String = try columns["name"]
        let statusText: String = try columns["status"]
        let phaseText: String = try columns["phase"]
        guard let status = ExecutionStatus(rawValue: statusText), let phase = ExecutionPhase(rawValue: phaseText) else {
            throw WorkflowError(.storeFailure, "unreadable execution row \(name)")
        }
        let counts: [Int]
        if case .array(let values) = try JSONValue(parsing: try columns["retry_counts"] as String) {
            counts = values.compactMap { $0.numberValue.flatMap { Int(exactly: $0) } }
        } else {
            counts = []
        }
        func date(_ column: String) throws -> Date? {
            (try columns[column] as Double?).map { Date(timeIntervalSince1970: $0) }
        }
        func json(_ column: String) throws -> JSONValue? {
            try (try columns[column] as String?).map { try JSONValue(parsing: $0) }
        }
        return ExecutionSnapshot(
            name: name, workflow: try columns["workflow"], status: status, stateName: try columns["state"],
            stateInput: try JSONValue(parsing: try columns["state_input"] as String), phase: phase,
            attempt: try columns["attempt"], retryCounts: counts, dueAt: try date("due_at"),
            deadline: try date("deadline"), signal: try json("signal"),
            input: try JSONValue(parsing: try columns["input"] as String), output: try json("output"),
            error: try columns["error"], cause: try columns["cause"],
            startedAt: Date(timeIntervalSince1970: try columns["started_at"]),
            updatedAt: Date(timeIntervalSince1970: try columns["updated_at"]), nextSeq: try columns["next_seq"])
    }

    private static func retryCountsText(_ snapshot: ExecutionSnapshot) -> String {
        snapshot.retryCounts.isEmpty ? "[]" : JSONValue.array(snapshot.retryCounts.map { .number(Double($0)) }).jsonText
    }

    private static func wake(_ snapshot: ExecutionSnapshot) -> Double? {
        snapshot.status == .running ? (snapshot.wakeAt?.timeIntervalSince1970 ?? 0) : nil
    }

    /// Every column of a snapshot, in the order of `columnList`.
    private static func columnBinds(_ snapshot: ExecutionSnapshot) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(snapshot.name)
        binds.append(snapshot.workflow)
        binds.append(snapshot.status.rawValue)
        binds.append(snapshot.stateName)
        binds.append(snapshot.stateInput.jsonText)
        binds.append(snapshot.phase.rawValue)
        binds.append(snapshot.attempt)
        binds.append(retryCountsText(snapshot))
        binds.append(snapshot.dueAt?.timeIntervalSince1970)
        binds.append(snapshot.deadline?.timeIntervalSince1970)
        binds.append(snapshot.signal?.jsonText)
        binds.append(snapshot.input.jsonText)
        binds.append(snapshot.output?.jsonText)
        binds.append(snapshot.error)
        binds.append(snapshot.cause)
        binds.append(snapshot.startedAt.timeIntervalSince1970)
        binds.append(snapshot.updatedAt.timeIntervalSince1970)
        binds.append(snapshot.nextSeq)
        binds.append(wake(snapshot))
        return binds
    }

    private static let columnList = [
        "name", "workflow", "status", "state", "state_input", "phase", "attempt", "retry_counts", "due_at",
        "deadline", "signal", "input", "output", "error", "cause", "started_at", "updated_at", "next_seq", "wake_at",
    ]

    static func insertQuery(_ snapshot: ExecutionSnapshot) -> PostgresQuery {
        let placeholders = (1...columnList.count).map { "$\($0)" }.joined(separator: ", ")
        return PostgresQuery(
            unsafeSQL: """
                INSERT INTO executions (\(columnList.joined(separator: ", "))) VALUES (\(placeholders))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, binds: columnBinds(snapshot))
    }

    static func updateQuery(_ snapshot: ExecutionSnapshot, clearLease: Bool) -> PostgresQuery {
        let assignments = columnList.enumerated().dropFirst().map { "\($0.element) = $\($0.offset + 1)" }
        let lease = clearLease ? ", lease_owner = NULL, lease_expires = NULL" : ""
        return PostgresQuery(
            unsafeSQL: "UPDATE executions SET \(assignments.joined(separator: ", "))\(lease) WHERE name = $1",
            binds: columnBinds(snapshot))
    }

    /// Writes a step's row change and events, fenced by lease and `next_seq`; throws `.leaseLost` when stale.
    static func store(
        _ transaction: PostgresTransaction, _ step: StepResult, execution: String, owner: String, expectedSeq: Int,
        leaseSeconds: Double, now: Date
    ) async throws {
        let snapshot = step.snapshot
        let updated: [PostgresRow]
        if snapshot.status != .running {
            // The execution ended: store its result, clear its schedule and lease.
            updated = try await transaction.query(
                """
                UPDATE executions SET status = \(snapshot.status.rawValue), output = \(snapshot.output?.jsonText),
                    error = \(snapshot.error), cause = \(snapshot.cause),
                    updated_at = \(snapshot.updatedAt.timeIntervalSince1970), next_seq = \(snapshot.nextSeq),
                    due_at = NULL, signal = NULL, wake_at = NULL, lease_owner = NULL, lease_expires = NULL
                WHERE name = \(execution) AND next_seq = \(expectedSeq) AND lease_owner = \(owner) AND status = 'running'
                RETURNING name
                """)
        } else {
            let keepsLease = !step.releasesLease
            let leaseOwner: String? = keepsLease ? owner : nil
            let leaseExpires: Double? = keepsLease ? now.timeIntervalSince1970 + leaseSeconds : nil
            updated = try await transaction.query(
                """
                UPDATE executions SET state = \(snapshot.stateName), state_input = \(snapshot.stateInput.jsonText),
                    phase = \(snapshot.phase.rawValue), attempt = \(snapshot.attempt),
                    retry_counts = \(retryCountsText(snapshot)), due_at = \(snapshot.dueAt?.timeIntervalSince1970),
                    signal = \(snapshot.signal?.jsonText), updated_at = \(snapshot.updatedAt.timeIntervalSince1970),
                    next_seq = \(snapshot.nextSeq), wake_at = \(wake(snapshot)), lease_owner = \(leaseOwner),
                    lease_expires = \(leaseExpires)
                WHERE name = \(execution) AND next_seq = \(expectedSeq) AND lease_owner = \(owner) AND status = 'running'
                RETURNING name
                """)
        }
        guard updated.count == 1 else {
            throw WorkflowError(.leaseLost, "execution \(execution) changed under worker \(owner)")
        }
        try await append(transaction, step.events)
    }

    static func append(_ transaction: PostgresTransaction, _ events: [WorkflowEvent]) async throws {
        guard !events.isEmpty else { return }
        // One INSERT for all of a step's events: one round trip.
        var binds = PostgresBindings()
        var rows: [String] = []
        for (index, event) in events.enumerated() {
            let base = index * 7
            rows.append("(" + (1...7).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
            binds.append(event.execution)
            binds.append(event.seq)
            binds.append(event.at.timeIntervalSince1970)
            binds.append(event.kind.rawValue)
            binds.append(event.state)
            binds.append(event.attempt)
            binds.append(event.detail.jsonText)
        }
        try await transaction.query(
            PostgresQuery(
                unsafeSQL: "INSERT INTO events (execution, seq, at, kind, state, attempt, detail) VALUES "
                    + rows.joined(separator: ", "), binds: binds))
    }

    static func binds(_ values: String...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }
}
