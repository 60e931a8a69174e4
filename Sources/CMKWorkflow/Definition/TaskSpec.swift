/// A Task state's work: which registered handler runs it and how failures are retried or caught.
public struct TaskSpec: Sendable {
    /// The handler name from `arn:aws:states:::activity:NAME`.
    public let handler: String
    public let timeoutSeconds: Double?
    public let heartbeatSeconds: Double?
    public let retry: [RetryRule]
    public let catchers: [CatchRule]

    /// The activity ARN prefix; keeping it makes every definition valid ASL for AWS tooling too.
    public static let activityPrefix = "arn:aws:states:::activity:"

    public init(
        handler: String, timeoutSeconds: Double? = nil, heartbeatSeconds: Double? = nil,
        retry: [RetryRule] = [], catchers: [CatchRule] = []
    ) {
        self.handler = handler
        self.timeoutSeconds = timeoutSeconds
        self.heartbeatSeconds = heartbeatSeconds
        self.retry = retry
        self.catchers = catchers
    }
}
