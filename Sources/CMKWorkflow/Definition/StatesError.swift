/// The predefined ASL error names this engine raises or matches, and the matching rule for `ErrorEquals`.
public enum StatesError {
    public static let all = "States.ALL"
    public static let timeout = "States.Timeout"
    public static let taskFailed = "States.TaskFailed"
    public static let heartbeatTimeout = "States.HeartbeatTimeout"
    /// Raised for payload processing failures (a path that finds nothing); not retried by `States.ALL` in AWS,
    /// but this engine lets `States.ALL` catch it so a bad input cannot wedge an execution.
    public static let runtime = "States.Runtime"

    public static let predefined: Set<String> = [all, timeout, taskFailed, heartbeatTimeout, runtime]

    /// `States.ALL` matches everything; `States.TaskFailed` matches everything but `States.Timeout`, as in AWS.
    public static func matches(_ error: String, _ errorEquals: [String]) -> Bool {
        if errorEquals.contains(error) || errorEquals.contains(all) { return true }
        if errorEquals.contains(taskFailed) && error != timeout { return true }
        return false
    }
}
