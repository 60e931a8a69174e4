/// One `Retry` entry: which errors it handles and the backoff schedule for them.
public struct RetryRule: Sendable, Hashable {
    public enum Jitter: String, Sendable, Hashable {
        case full = "FULL"
        case none = "NONE"
    }

    public let errorEquals: [String]
    public let intervalSeconds: Double
    public let maxAttempts: Int
    public let backoffRate: Double
    public let maxDelaySeconds: Double?
    public let jitter: Jitter

    /// Defaults are Step Functions': 1 s, 3 attempts, rate 2.0, no cap, no jitter.
    public init(
        errorEquals: [String], intervalSeconds: Double = 1, maxAttempts: Int = 3, backoffRate: Double = 2,
        maxDelaySeconds: Double? = nil, jitter: Jitter = .none
    ) {
        self.errorEquals = errorEquals
        self.intervalSeconds = intervalSeconds
        self.maxAttempts = maxAttempts
        self.backoffRate = backoffRate
        self.maxDelaySeconds = maxDelaySeconds
        self.jitter = jitter
    }

    /// The longest delay before a retry, in seconds (a year, Step Functions' own ceiling for
    /// `MaxDelaySeconds`).
    public static let longestDelaySeconds: Double = 31_622_400

    /// The delay before retry number `retry` (1 for the first retry).
    ///
    /// `randomUnit` is a number in [0, 1) supplied by the caller, so the schedule is a pure function
    /// and tests can pin the jitter. FULL jitter picks uniformly in [0, capped delay], as AWS does.
    public func delay(beforeRetry retry: Int, randomUnit: Double) -> Double {
        // Capped at a year even without MaxDelaySeconds: a large BackoffRate or attempt count would
        // otherwise reach infinity, and FULL jitter would turn infinity times zero into NaN.
        let cap = min(maxDelaySeconds ?? Self.longestDelaySeconds, Self.longestDelaySeconds)
        var delay = min(intervalSeconds, cap)
        var step = 1
        while step < retry && delay < cap {
            delay = min(delay * backoffRate, cap)
            step += 1
        }
        switch jitter {
        case .none: return delay
        case .full: return delay * min(max(randomUnit, 0), 1)
        }
    }

    public func handles(_ error: String) -> Bool {
        StatesError.matches(error, errorEquals)
    }
}
