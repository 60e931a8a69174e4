/// What a running execution is doing in its current state; decides what the next step is.
public enum ExecutionPhase: String, Sendable, Codable {
    /// The state was entered and its work has not been committed yet (a crashed task attempt re-runs from here).
    case entering
    /// A Wait state's timer is set for `dueAt`.
    case waiting
    /// A task attempt failed and the next attempt is due at `dueAt`.
    case retrying
    /// A task handler parked; a signal or the task timeout (`dueAt`) resumes it.
    case parked
}
