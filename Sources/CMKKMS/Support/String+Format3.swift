/// Report formatting of latencies.
extension String {
    /// `12.345`: three decimals without Foundation's locale-dependent formatting.
    init(format3 value: Double) {
        let scaled = Int64((value * 1000).rounded())
        let whole = scaled / 1000
        let fraction = abs(scaled % 1000)
        let digits = String(fraction)
        self = "\(whole).\(String(repeating: "0", count: 3 - digits.count))\(digits)"
    }
}
