import Synchronization

/// A clock the benchmark moves forward itself, so that operations run as fast as the machine allows
/// while the materials cache sees them spread at a chosen rate (ages, soft and hard limits).
///
/// Time only moves forward: `advance(toAtLeast:)` from several workers keeps the latest instant.
/// `sleep` waits in real time until the benchmark has moved the clock far enough; the cache does not
/// sleep, so nothing in the benchmark waits on it.
public final class SimulatedClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Sendable {
        public let offset: Duration

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    /// Nanoseconds since the clock was made.
    private let nanoseconds = Atomic<Int64>(0)

    public init() {}

    public var now: Instant { Instant(offset: .nanoseconds(nanoseconds.load(ordering: .acquiring))) }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Time since the clock was made.
    public var elapsed: Duration { now.offset }

    /// Moves the clock to `offset` unless it is already later.
    public func advance(toAtLeast offset: Duration) {
        let target = Self.nanoseconds(of: offset)
        var current = nanoseconds.load(ordering: .relaxed)
        while current < target {
            let (exchanged, original) = nanoseconds.compareExchange(expected: current, desired: target, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        while now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    private static func nanoseconds(of duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
