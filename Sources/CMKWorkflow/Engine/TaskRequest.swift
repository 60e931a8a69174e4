/// A task attempt the stepper wants run: everything a handler needs, including its idempotency key.
public struct TaskRequest: Sendable, Equatable {
    public let execution: String
    public let state: String
    public let attempt: Int
    public let handler: String
    public let input: JSONValue
    public let timeoutSeconds: Double?
    public let heartbeatSeconds: Double?

    /// Stable across crashes and re-runs of the same attempt, so an external system can deduplicate.
    public var idempotencyKey: String { "\(execution)/\(state)/\(attempt)" }
}
