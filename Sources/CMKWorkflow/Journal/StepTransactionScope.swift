/// Marks the task (and its child tasks) running a transactional step's handler, so that a store can refuse
/// a second transaction opened from inside it: on SQLite that would wait forever for the writer the step
/// holds, and on PostgreSQL it would commit apart from the step, breaking exactly-once.
public enum StepTransactionScope {
    /// The execution whose transactional step is running in this task, if any.
    @TaskLocal public static var execution: String?
}
