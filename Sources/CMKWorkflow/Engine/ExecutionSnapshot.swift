import Foundation

/// One execution's row in the journal: the cursor that, together with the definition, says what happens next.
public struct ExecutionSnapshot: Sendable, Equatable {
    public var name: String
    public var workflow: String
    public var status: ExecutionStatus
    public var stateName: String
    /// The raw input of the current state (before its InputPath).
    public var stateInput: JSONValue
    public var phase: ExecutionPhase
    /// The task attempt number, 1 for the first; part of the idempotency key.
    public var attempt: Int
    /// How many retries each `Retry` entry of the current state has used, by index.
    public var retryCounts: [Int]
    public var dueAt: Date?
    /// Machine-level deadline from the definition's `TimeoutSeconds`.
    public var deadline: Date?
    /// A signal payload waiting to be consumed by a parked task.
    public var signal: JSONValue?
    public var input: JSONValue
    public var output: JSONValue?
    public var error: String?
    public var cause: String?
    public var startedAt: Date
    public var updatedAt: Date
    /// Sequence number of the next event; also the optimistic-concurrency version of the row.
    public var nextSeq: Int

    public init(
        name: String, workflow: String, status: ExecutionStatus, stateName: String, stateInput: JSONValue,
        phase: ExecutionPhase, attempt: Int, retryCounts: [Int], dueAt: Date?, deadline: Date?, signal: JSONValue?,
        input: JSONValue, output: JSONValue?, error: String?, cause: String?, startedAt: Date, updatedAt: Date,
        nextSeq: Int
    ) {
        self.name = name
        self.workflow = workflow
        self.status = status
        self.stateName = stateName
        self.stateInput = stateInput
        self.phase = phase
        self.attempt = attempt
        self.retryCounts = retryCounts
        self.dueAt = dueAt
        self.deadline = deadline
        self.signal = signal
        self.input = input
        self.output = output
        self.error = error
        self.cause = cause
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.nextSeq = nextSeq
    }

    /// When a worker should next look at this execution; nil means now.
    public var wakeAt: Date? {
        guard status == .running else { return nil }
        var wake: Date?
        switch phase {
        case .entering: wake = nil
        case .waiting, .retrying: wake = dueAt
        case .parked: wake = signal != nil ? nil : (dueAt ?? .distantFuture)
        }
        if let deadline, let current = wake { wake = min(deadline, current) }
        return wake
    }
}
