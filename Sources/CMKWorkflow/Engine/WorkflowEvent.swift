import Foundation

/// One line of an execution's history, numbered from 1 without gaps.
public struct WorkflowEvent: Sendable, Equatable {
    public let execution: String
    public let seq: Int
    public let at: Date
    public let kind: EventKind
    public let state: String?
    public let attempt: Int?
    public let detail: JSONValue

    public init(
        execution: String, seq: Int, at: Date, kind: EventKind, state: String?, attempt: Int?, detail: JSONValue
    ) {
        self.execution = execution
        self.seq = seq
        self.at = at
        self.kind = kind
        self.state = state
        self.attempt = attempt
        self.detail = detail
    }
}
