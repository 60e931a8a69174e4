import GRDB

/// Code that does a Task's work, registered under the activity name the definition uses.
public enum TaskHandler: Sendable {
    /// Runs outside any transaction; at-least-once, so it must use `context.idempotencyKey` for external effects.
    case detached(@Sendable (TaskContext) async throws -> TaskOutcome)
    /// Runs inside the transaction that records its completion, so writes to the engine's database
    /// happen exactly once. It must be quick and must not do other I/O: it holds the journal's writer.
    case transactional(@Sendable (TaskContext, Database) throws -> TaskOutcome)
}
