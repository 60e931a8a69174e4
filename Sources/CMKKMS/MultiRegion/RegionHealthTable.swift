/// Health per region and the order decrypt should try them in; pure, so ranking is tested without
/// I/O.
public struct RegionHealthTable: Sendable {
    public private(set) var regions: [String: RegionHealth] = [:]
    public let alpha: Double
    /// Seconds of score added at failure rate 1; larger than any healthy latency.
    public let failurePenalty: Double

    public init(alpha: Double = 0.3, failurePenalty: Double = 5) {
        self.alpha = alpha
        self.failurePenalty = failurePenalty
    }

    public mutating func record(region: String, latency: Duration, succeeded: Bool) {
        regions[region, default: RegionHealth(alpha: alpha)].record(latency: latency, succeeded: succeeded)
    }

    public func health(of region: String) -> RegionHealth {
        regions[region] ?? RegionHealth(alpha: alpha)
    }

    /// `candidates` best first; equal scores keep the given order (the configured preference).
    public func ranked(_ candidates: [String]) -> [String] {
        candidates.enumerated()
            .sorted { a, b in
                let sa = health(of: a.element).score(failurePenalty: failurePenalty)
                let sb = health(of: b.element).score(failurePenalty: failurePenalty)
                return sa == sb ? a.offset < b.offset : sa < sb
            }
            .map(\.element)
    }
}
