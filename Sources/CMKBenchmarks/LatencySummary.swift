import CMKKMS

/// Percentiles of a set of latency samples (nearest rank), in milliseconds.
public struct LatencySummary: Sendable, Equatable {
    public let count: Int
    public let p50: Double
    public let p99: Double
    public let max: Double

    public init(_ samples: [Duration]) {
        let sorted = samples.map(\.reportMilliseconds).sorted()
        count = sorted.count
        func rank(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, index))]
        }
        p50 = rank(0.50)
        p99 = rank(0.99)
        self.max = sorted.last ?? 0
    }

    public var json: JSONValue {
        ["samples": .number(Double(count)), "p50Ms": .number(p50), "p99Ms": .number(p99), "maxMs": .number(max)]
    }
}
