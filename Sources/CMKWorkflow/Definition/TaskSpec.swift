/// A Task state's work: which registered handler runs it and how failures are retried or caught.
public struct TaskSpec: Sendable {
    /// The handler name from `arn:aws:states:::activity:NAME`.
    public let handler: String
    public let timeoutSeconds: Double?
    /// `TimeoutSecondsPath`: the timeout read from the effective input when the task starts, so a
    /// definition can wait longer each time round a loop (a customer re-check with backoff, say).
    public let timeoutSecondsPath: JSONPath?
    public let heartbeatSeconds: Double?
    public let retry: [RetryRule]
    public let catchers: [CatchRule]

    /// The activity ARN prefix; keeping it makes every definition valid ASL for AWS tooling too.
    public static let activityPrefix = "arn:aws:states:::activity:"

    public init(
        handler: String, timeoutSeconds: Double? = nil, heartbeatSeconds: Double? = nil,
        retry: [RetryRule] = [], catchers: [CatchRule] = [], timeoutSecondsPath: JSONPath? = nil
    ) {
        self.handler = handler
        self.timeoutSeconds = timeoutSeconds
        self.timeoutSecondsPath = timeoutSecondsPath
        self.heartbeatSeconds = heartbeatSeconds
        self.retry = retry
        self.catchers = catchers
    }

    /// The timeout that applies to an attempt whose effective input is `input`.
    ///
    /// A `TimeoutSecondsPath` that finds nothing, or a value that is not a positive number, is a
    /// `States.Runtime` failure, as in AWS.
    public func timeout(for input: JSONValue) throws -> Double? {
        guard let path = timeoutSecondsPath else { return timeoutSeconds }
        guard let value = path.read(from: input)?.numberValue, value > 0, value.isFinite else {
            throw WorkflowError(.invalidJSON, "TimeoutSecondsPath \(path) does not name a positive number of seconds")
        }
        return value
    }
}
