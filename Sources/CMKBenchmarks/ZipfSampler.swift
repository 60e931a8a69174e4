import Foundation

/// Draws ranks 0..<count with probability proportional to 1 / (rank + 1)^exponent: a few tenants
/// make most of the traffic and a long tail makes a little each, as in a multi-tenant service.
public struct ZipfSampler: Sendable {
    /// Cumulative probabilities, the last one 1.
    private let cumulative: [Double]

    public init(count: Int, exponent: Double) {
        precondition(count >= 1, "a Zipf sampler needs at least one rank")
        var weights: [Double] = []
        weights.reserveCapacity(count)
        var total = 0.0
        for rank in 1...count {
            let weight = 1.0 / pow(Double(rank), exponent)
            total += weight
            weights.append(total)
        }
        cumulative = weights.map { $0 / total }
    }

    public var count: Int { cumulative.count }

    /// The share of draws that land on `rank`.
    public func probability(ofRank rank: Int) -> Double {
        rank == 0 ? cumulative[0] : cumulative[rank] - cumulative[rank - 1]
    }

    public func sample(using generator: inout some RandomNumberGenerator) -> Int {
        let unit = Double.random(in: 0..<1, using: &generator)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > unit { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// SplitMix64: a small seeded generator, so a benchmark run's tenant and operation sequence can be
/// repeated (not for anything secret).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
