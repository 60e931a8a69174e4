/// What a handler reports when it returns normally; failures are thrown as `TaskFailure`.
public enum TaskOutcome: Sendable, Equatable {
    /// The task is done; the value is its result (before ResultPath).
    case succeeded(JSONValue)
    /// The task waits for the outside world: a signal's payload becomes the result, or the task's
    /// `TimeoutSeconds` fails it with `States.Timeout`.
    case parked
}
