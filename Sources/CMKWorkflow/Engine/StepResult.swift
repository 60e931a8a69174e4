/// What one durable step changes: the events to append and the new row, committed in one transaction.
public struct StepResult: Sendable {
    public var events: [WorkflowEvent]
    public var snapshot: ExecutionSnapshot

    /// Whether the worker should give up its lease: the execution finished, or sleeps until a timer or signal.
    public var releasesLease: Bool

    public init(events: [WorkflowEvent], snapshot: ExecutionSnapshot, releasesLease: Bool) {
        self.events = events
        self.snapshot = snapshot
        self.releasesLease = releasesLease
    }
}
