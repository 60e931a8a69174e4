import Foundation
import GRDB

/// The durable store of executions and their histories.
///
/// SQLite (`SQLiteJournal`) is the embedded implementation; a PostgreSQL journal for fleets of workers is the
/// planned second one. Every method is one transaction.
public protocol WorkflowJournal: Sendable {
    /// Creates the execution, or returns the existing one with that name (`created == false`), as Step Functions does.
    func start(name: String, input: JSONValue, definition: StateMachineDefinition, now: Date) throws -> (
        snapshot: ExecutionSnapshot, created: Bool
    )
    /// Leases one execution that is due, or nil; a lease held by another live worker is respected.
    func claim(owner: String, leaseSeconds: Double, now: Date) throws -> ExecutionSnapshot?
    /// Leases one execution that is due and, in the same transaction, commits the step `advance` plans for it
    /// (nil: lease only); nil when nothing is due. Saves the worker a commit per claim.
    func claim(
        owner: String, leaseSeconds: Double, now: Date, advance: (ExecutionSnapshot) throws -> StepResult?
    ) throws -> (claimed: ExecutionSnapshot, step: StepResult?)?
    /// Extends a held lease; false when the lease was lost.
    func renewLease(execution: String, owner: String, leaseSeconds: Double, now: Date) throws -> Bool
    /// Gives back a lease without changing the execution.
    func releaseLease(execution: String, owner: String) throws
    /// Commits one step built inside the transaction (so a transactional handler's writes join it), provided
    /// `owner` still holds the lease and the row is still at `expectedSeq`; throws `.leaseLost` otherwise.
    func commit(
        execution: String, owner: String, expectedSeq: Int, leaseSeconds: Double, now: Date,
        build: (Database) throws -> StepResult
    ) throws -> StepResult
    /// The earliest instant at which some running execution becomes due or some lease expires.
    func nextWake(now: Date) throws -> Date?
    func signal(execution: String, payload: JSONValue, now: Date) throws -> ExecutionSnapshot
    func cancel(execution: String, now: Date) throws -> ExecutionSnapshot
    func execution(named name: String) throws -> ExecutionSnapshot?
    /// The lease on an execution, if a worker holds one (it may have expired: compare with the clock).
    func lease(of execution: String) throws -> ExecutionLease?
    func executions(status: ExecutionStatus?) throws -> [ExecutionSnapshot]
    func history(of name: String) throws -> [WorkflowEvent]
}

extension WorkflowJournal {
    /// A claim and a fenced commit in two transactions, for journals that cannot join them.
    public func claim(
        owner: String, leaseSeconds: Double, now: Date, advance: (ExecutionSnapshot) throws -> StepResult?
    ) throws -> (claimed: ExecutionSnapshot, step: StepResult?)? {
        guard let claimed = try claim(owner: owner, leaseSeconds: leaseSeconds, now: now) else { return nil }
        guard let planned = try advance(claimed) else { return (claimed, nil) }
        let step = try commit(
            execution: claimed.name, owner: owner, expectedSeq: claimed.nextSeq, leaseSeconds: leaseSeconds, now: now,
            build: { _ in planned })
        return (claimed, step)
    }
}
