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
        // A due date from a definition or an input can be far away (`"Seconds": 1e300`), and
        // `Duration.seconds` traps beyond about 1.7e20 s; callers re-check the time when they wake,
        // so one sleep of at most a day is enough.
        if seconds > 0 {
            try await Task.sleep(for: .seconds(min(seconds, Self.longestSleep)))
        }
    }

    /// The longest single sleep, in seconds.
    static let longestSleep: Double = 86_400
}
