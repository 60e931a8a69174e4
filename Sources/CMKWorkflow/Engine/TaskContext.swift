/// What a running handler is told: its input, the attempt's idempotency key, and a way to report liveness.
public struct TaskContext: Sendable {
    public let request: TaskRequest
    private let heartbeatAction: @Sendable () -> Void

    public init(request: TaskRequest, heartbeat: @escaping @Sendable () -> Void) {
        self.request = request
        self.heartbeatAction = heartbeat
    }

    public var input: JSONValue { request.input }
    public var idempotencyKey: String { request.idempotencyKey }
    public var attempt: Int { request.attempt }

    /// Tells the engine the handler is alive; a Task with `HeartbeatSeconds` fails with
    /// `States.HeartbeatTimeout` when this is not called often enough.
    public func heartbeat() {
        heartbeatAction()
    }
}
