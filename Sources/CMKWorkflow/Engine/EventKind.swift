/// The kinds of history events; raw values are stored in the journal and never change once shipped.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    case executionStarted = "ExecutionStarted"
    case stateEntered = "StateEntered"
    case taskScheduled = "TaskScheduled"
    case taskSucceeded = "TaskSucceeded"
    case taskFailed = "TaskFailed"
    case retryScheduled = "RetryScheduled"
    case caught = "Caught"
    case timerSet = "TimerSet"
    case timerFired = "TimerFired"
    case parked = "Parked"
    case signalled = "Signalled"
    case executionSucceeded = "ExecutionSucceeded"
    case executionFailed = "ExecutionFailed"
    case executionTimedOut = "ExecutionTimedOut"
    case executionCancelled = "ExecutionCancelled"
}
