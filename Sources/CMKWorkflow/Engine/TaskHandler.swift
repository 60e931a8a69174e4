/// Code that does a Task's work, registered under the activity name the definition uses.
///
/// `Transaction` is the journal backend's transaction type (`WorkflowJournal.Transaction`): the engine
/// knows no database, the handler and the backend agree on it.
public enum TaskHandler<Transaction: Sendable>: Sendable {
    /// Runs outside any transaction; at-least-once, so it must use `context.idempotencyKey` for external effects.
    case detached(@Sendable (TaskContext) async throws -> TaskOutcome)
    /// Runs inside the transaction that records its completion, so its writes through `Transaction` happen
    /// exactly once; when it throws, its writes roll back and its failure is recorded. It must be quick and
    /// must not do other I/O: it holds the journal's write transaction.
    case transactional(@Sendable (TaskContext, Transaction) async throws -> TaskOutcome)
}
