import Foundation

/// Wall-clock time and sleeping, injected so that timers, retries and leases can be tested without waiting.
///
/// Wall-clock (`Date`) rather than a monotonic clock because due times are stored in the journal and
/// compared across processes and restarts.
public protocol WorkflowClock: Sendable {
    func now() -> Date
    func sleep(until deadline: Date) async throws
}

/// The real clock.
public struct SystemWorkflowClock: WorkflowClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 {
            try await Task.sleep(for: .seconds(seconds))
        }
    }
}
