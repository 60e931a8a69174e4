import Foundation

/// Accumulates the events and row changes of one step, numbering events from the row's `nextSeq`.
struct StepBuilder: Sendable {
    var snapshot: ExecutionSnapshot
    let now: Date
    private(set) var events: [WorkflowEvent] = []

    init(snapshot: ExecutionSnapshot, now: Date) {
        self.snapshot = snapshot
        self.now = now
    }

    mutating func append(_ kind: EventKind, state: String?, attempt: Int?, detail: JSONValue) {
        events.append(
            WorkflowEvent(
                execution: snapshot.name, seq: snapshot.nextSeq, at: now, kind: kind, state: state, attempt: attempt,
                detail: detail))
        snapshot.nextSeq += 1
    }

    /// Enters `next` with `input`: a fresh attempt counter and retry budget, as each state has its own.
    mutating func transition(to next: String, input: JSONValue) {
        snapshot.stateName = next
        snapshot.stateInput = input
        snapshot.phase = .entering
        snapshot.attempt = 1
        snapshot.retryCounts = []
        snapshot.dueAt = nil
        snapshot.signal = nil
        append(.stateEntered, state: next, attempt: nil, detail: ["input": input])
    }

    mutating func finish(_ status: ExecutionStatus, output: JSONValue?, error: String?, cause: String?) {
        snapshot.status = status
        snapshot.output = output
        snapshot.error = error
        snapshot.cause = cause
        snapshot.dueAt = nil
        let kind: EventKind
        switch status {
        case .succeeded: kind = .executionSucceeded
        case .timedOut: kind = .executionTimedOut
        case .cancelled: kind = .executionCancelled
        case .failed, .running: kind = .executionFailed
        }
        var detail: JSONObject = [:]
        if let output { detail["output"] = output }
        if let error { detail["error"] = .string(error) }
        if let cause { detail["cause"] = .string(cause) }
        append(kind, state: nil, attempt: nil, detail: .object(detail))
    }

    func result(releasesLease: Bool) -> StepResult {
        var final = snapshot
        final.updatedAt = now
        return StepResult(events: events, snapshot: final, releasesLease: releasesLease || final.status.isFinished)
    }
}
