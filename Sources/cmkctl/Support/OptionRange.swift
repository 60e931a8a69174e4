import ArgumentParser

/// The accepted range of every numeric option, checked at parse time.
///
/// A value such as `nan`, `inf` or `1e300` parses as a `Double` but would trap later, when it is
/// turned into a `Duration` or an integer; refusing it here, with the option's name and range,
/// gives exit 64 and one clear message instead of a crash.
struct OptionRange<Value: Comparable & Sendable>: Sendable {
    let option: String
    let range: ClosedRange<Value>
    let unit: String

    init(_ option: String, _ range: ClosedRange<Value>, _ unit: String) {
        self.option = option
        self.range = range
        self.unit = unit
    }

    /// Refuses `value` outside the range; NaN is outside every range.
    func check(_ value: Value) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) \(Self.text(value)) is out of range: give \(Self.text(range.lowerBound)) to \(Self.text(range.upperBound)) \(unit)")
        }
    }

    /// `10`, `0.1`, `nan`: whole numbers without Swift's `.0`.
    private static func text(_ value: Value) -> String {
        if let number = value as? Double, number.isFinite, number.rounded() == number, abs(number) < 1e15 {
            return String(Int64(number))
        }
        return "\(value)"
    }
}

/// The ranges of the numeric options several commands share.
enum OptionLimits {
    /// `--kms-timeout`: one KMS call; below 0.1 s nothing answers, above 5 minutes a caller has given up.
    static let kmsTimeout = OptionRange<Double>("--kms-timeout", 0.1...300, "seconds")
    /// `--lease-seconds`: below a second a worker renews more than it works; a day bounds how long a
    /// killed worker's executions wait for another.
    static let leaseSeconds = OptionRange<Double>("--lease-seconds", 1...86_400, "seconds")
    /// `--hedge-delay-ms`: up to a minute; a longer wait is no hedge.
    static let hedgeDelay = OptionRange<Int>("--hedge-delay-ms", 0...60_000, "milliseconds")
    /// `--min-regions`: at least one; no key set spans more regions than AWS has.
    static let minimumRegions = OptionRange<Int>("--min-regions", 1...64, "regions")
}
