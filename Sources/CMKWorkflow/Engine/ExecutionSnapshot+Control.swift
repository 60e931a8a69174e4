import Foundation

/// The two changes an operator makes to an execution from outside a worker, as pure steps that every
/// journal backend stores the same way.
extension ExecutionSnapshot {
    /// Delivers a signal to a parked task: the `Signalled` event and the payload the task resumes with.
    public func signalled(payload: JSONValue, now: Date) throws -> StepResult {
        guard status == .running, phase == .parked, signal == nil else {
            throw WorkflowError(
                .executionConflict,
                "execution \"\(name)\" is not parked waiting for a signal (status \(status.rawValue), phase \(phase.rawValue))"
            )
        }
        var builder = StepBuilder(snapshot: self, now: now)
        builder.append(.signalled, state: stateName, attempt: attempt, detail: ["payload": payload])
        var snapshot = builder.snapshot
        snapshot.signal = payload
        snapshot.updatedAt = now
        return StepResult(events: builder.events, snapshot: snapshot, releasesLease: false)
    }

    /// Ends a running execution as cancelled; the journal also clears its lease.
    public func cancelled(now: Date) throws -> StepResult {
        guard status == .running else {
            throw WorkflowError(.executionConflict, "execution \"\(name)\" already finished (\(status.rawValue))")
        }
        var builder = StepBuilder(snapshot: self, now: now)
        builder.finish(.cancelled, output: nil, error: "States.Cancelled", cause: "cancelled by request")
        return builder.result(releasesLease: true)
    }
}
