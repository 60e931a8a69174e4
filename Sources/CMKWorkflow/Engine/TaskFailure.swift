/// A handler's failure with an ASL error name, which `Retry` and `Catch` match on.
///
/// Any other error a handler throws is reported as `States.TaskFailed` with its description as cause.
public struct TaskFailure: Error, Sendable, Equatable {
    public let error: String
    public let cause: String

    public init(error: String, cause: String = "") {
        self.error = error
        self.cause = cause
    }
}
