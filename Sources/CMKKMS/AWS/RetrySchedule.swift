/// When to try a KMS call again: full-jitter exponential backoff, for transient failures only.
///
/// Reads the failure class: a revocation or a misconfiguration fails the same way on every attempt.
/// Of the transient ones, a connection that never answers is the hedging layer's job (it moves to
/// another region instead of waiting here), so an `.unreachable` is retried only when the server
/// answered (5xx). The random source is injected so
/// the schedule is tested without sleeping.
public struct RetrySchedule: Sendable {
    public let maxAttempts: Int
    public let baseDelay: Duration
    public let maxDelay: Duration

    public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(50), maxDelay: Duration = .seconds(2)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public static let none = RetrySchedule(maxAttempts: 1)

    /// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed with `error`,
    /// or `nil` when the call must not be retried. `unit` is a random number in [0, 1).
    public func delay(afterAttempt attempt: Int, error: KMSError, httpStatus: Int?, unit: Double) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        guard error.failureClass == .transient else { return nil }
        if error.code == .unreachable {
            // Only an answer from the server (5xx) is retried; connect failures and timeouts are not.
            guard let status = httpStatus, (500...599).contains(status) else { return nil }
        }
        let exponential = baseDelay * (1 << min(attempt - 1, 20))
        let cap = exponential < maxDelay ? exponential : maxDelay
        return cap * min(max(unit, 0), 1)
    }
}
