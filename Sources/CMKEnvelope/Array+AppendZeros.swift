/// A page of zero bytes, allocated once and never written: safe to read from any thread.
nonisolated(unsafe) private let zeroPage: UnsafeBufferPointer<UInt8> = {
    let page = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 65536)
    page.initialize(repeating: 0)
    return UnsafeBufferPointer(page)
}()

extension Array where Element == UInt8 {
    /// Grows the array by `count` zero bytes, room for C to write into.
    ///
    /// Copies from a shared zero page, so there is no temporary array and no per-byte loop:
    /// `append(contentsOf: repeatElement(0, count:))` is a per-element generic loop in debug builds,
    /// which made the test suite's 2 GiB streaming run take minutes.
    mutating func appendZeros(_ count: Int) {
        var remaining = count
        while remaining > 0 {
            let chunk = Swift.min(remaining, zeroPage.count)
            append(contentsOf: UnsafeBufferPointer(rebasing: zeroPage[0..<chunk]))
            remaining -= chunk
        }
    }
}
