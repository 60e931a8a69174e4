/// The recent health of one region: exponentially weighted latency and failure rate.
///
/// Exponential weighting forgets old samples at a fixed rate, so a region that was down recovers its
/// rank a few calls after it comes back, and one that starts failing drops within a few calls.
public struct RegionHealth: Sendable, Equatable {
    /// Weight of the newest sample.
    public let alpha: Double
    /// EWMA latency in seconds; `nil` before the first sample.
    public private(set) var latency: Double?
    /// EWMA of failures, 0 (always answers) to 1 (always fails).
    public private(set) var failureRate: Double = 0
    public private(set) var successes = 0
    public private(set) var failures = 0

    public init(alpha: Double = 0.3) {
        self.alpha = alpha
    }

    /// Adds one call's outcome; a failure counts its elapsed time as latency too, so a region that
    /// fails slowly ranks below one that fails fast.
    public mutating func record(latency sample: Duration, succeeded: Bool) {
        let seconds = Double(sample.components.seconds) + Double(sample.components.attoseconds) / 1e18
        latency = latency.map { alpha * seconds + (1 - alpha) * $0 } ?? seconds
        failureRate = alpha * (succeeded ? 0 : 1) + (1 - alpha) * failureRate
        if succeeded { successes += 1 } else { failures += 1 }
    }

    /// Lower is better: latency inflated by the failure rate, plus a flat penalty per unit of failure
    /// rate so a fast-failing region does not look good. Untried regions score 0 and get tried.
    public func score(failurePenalty: Double) -> Double {
        (latency ?? 0) * (1 + 4 * failureRate) + failurePenalty * failureRate
    }
}
