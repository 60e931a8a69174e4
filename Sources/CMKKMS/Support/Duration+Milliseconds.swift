/// Durations as the numbers APIs and reports want.
extension Duration {
    /// Whole milliseconds, for APIs that take `TimeAmount` or integers.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension Duration {
    /// Milliseconds rounded to three decimals, for reports.
    public var reportMilliseconds: Double {
        let microseconds = Double(components.seconds) * 1e6 + Double(components.attoseconds) / 1e12
        return microseconds.rounded() / 1000
    }
}

extension Duration {
    /// The duration in seconds, for arithmetic with `Date`s.
    public var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
