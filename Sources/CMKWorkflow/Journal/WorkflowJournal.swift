import Foundation

/// The durable store of executions and their histories: the engine's side of the store seam.
///
/// Each backend (SQLite in `CMKSQLite`; PostgreSQL planned) implements it over its own `Transaction`, the
/// type a transactional task handler receives. The backend's tenant repository works in the same
/// transaction type, so a handler's domain writes commit in the transaction that records its step
/// (exactly once: DBOS's datasource model). Every method is one transaction; every method is async, so no
/// backend blocks the cooperative thread pool.
public protocol WorkflowJournal: Sendable {
    /// One open database transaction of this backend.
    associatedtype Transaction: Sendable

    /// Creates the execution, or returns the existing one with that name (`created == false`), as Step Functions does.
    func start(name: String, input: JSONValue, definition: StateMachineDefinition, now: Date) async throws -> (
        snapshot: ExecutionSnapshot, created: Bool
    )
    /// Leases one execution that is due, or nil; a lease held by another live worker is respected.
    func claim(owner: String, leaseSeconds: Double, now: Date) async throws -> ExecutionSnapshot?
    /// Leases one execution that is due and, in the same transaction, commits the step `advance` plans for it
    /// (nil: lease only); nil when nothing is due. Saves the worker a commit per claim.
    func claim(
        owner: String, leaseSeconds: Double, now: Date,
        advance: @escaping @Sendable (ExecutionSnapshot) throws -> StepResult?
    ) async throws -> (claimed: ExecutionSnapshot, step: StepResult?)?
    /// Extends a held lease; false when the lease was lost.
    func renewLease(execution: String, owner: String, leaseSeconds: Double, now: Date) async throws -> Bool
    /// Gives back a lease without changing the execution.
    func releaseLease(execution: String, owner: String) async throws
    /// Commits a step planned outside any transaction, provided `owner` still holds the lease and the row is
    /// still at `expectedSeq`; throws `.leaseLost` otherwise.
    func commit(
        _ step: StepResult, execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date
    ) async throws -> StepResult
    /// Commits one step built inside the transaction (so a transactional handler's writes join it), fenced
    /// like `commit(_:execution:...)`; a fence failure rolls back everything `build` wrote.
    func commit(
        execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date,
        build: @escaping @Sendable (Transaction) async throws -> StepResult
    ) async throws -> StepResult
    /// Runs `body` in a savepoint of `transaction`: when it throws, its writes are undone and its error is
    /// returned as `.failure`, while the transaction goes on (a failed handler's failure event still commits).
    /// A failure of the database itself is thrown instead, which aborts the whole transaction.
    func savepoint<T: Sendable>(
        in transaction: Transaction, _ body: @escaping @Sendable (Transaction) async throws -> T
    ) async throws -> Result<T, any Error>
    /// The earliest instant at which some running execution becomes due or some lease expires.
    func nextWake(now: Date) async throws -> Date?
    func signal(execution: String, payload: JSONValue, now: Date) async throws -> ExecutionSnapshot
    func cancel(execution: String, now: Date) async throws -> ExecutionSnapshot
    func execution(named name: String) async throws -> ExecutionSnapshot?
    /// The lease on an execution, if a worker holds one (it may have expired: compare with the clock).
    func lease(of execution: String) async throws -> ExecutionLease?
    func executions(status: ExecutionStatus?) async throws -> [ExecutionSnapshot]
    func history(of name: String) async throws -> [WorkflowEvent]
    /// An idle worker's sleep: until `deadline` on `clock`, or sooner when the backend hints that work may
    /// have become due (PostgreSQL's NOTIFY). Polling stays the truth: a hint may be lost or spurious.
    func waitForWork(until deadline: Date, clock: any WorkflowClock) async throws
}

extension WorkflowJournal {
    /// No hints: sleep until the deadline.
    public func waitForWork(until deadline: Date, clock: any WorkflowClock) async throws {
        try await clock.sleep(until: deadline)
    }

    /// A claim and a fenced commit in two transactions, for journals that cannot join them.
    public func claim(
        owner: String, leaseSeconds: Double, now: Date,
        advance: @escaping @Sendable (ExecutionSnapshot) throws -> StepResult?
    ) async throws -> (claimed: ExecutionSnapshot, step: StepResult?)? {
        guard let claimed = try await claim(owner: owner, leaseSeconds: leaseSeconds, now: now) else { return nil }
        guard let planned = try advance(claimed) else { return (claimed, nil) }
        let step = try await commit(
            planned, execution: claimed.name, owner: owner, expectedSeq: claimed.nextSeq, leaseSeconds: leaseSeconds,
            now: now)
        return (claimed, step)
    }

    /// A planned step committed through the transactional path, for journals without a cheaper one.
    public func commit(
        _ step: StepResult, execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date
    ) async throws -> StepResult {
        try await commit(
            execution: execution, owner: owner, expectedSeq: expectedSeq, leaseSeconds: leaseSeconds, now: now,
            build: { _ in step })
    }
}
