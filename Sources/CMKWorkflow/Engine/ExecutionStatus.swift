/// Where an execution is in its life; raw values are stored in the journal and shown by the CLI.
public enum ExecutionStatus: String, Sendable, Codable, CaseIterable {
    case running
    case succeeded
    case failed
    case timedOut = "timed_out"
    case cancelled

    public var isFinished: Bool { self != .running }
}
