import CMKWorkflow
import Foundation
import Synchronization

/// A clock that moves only when the test says so: timers, retries, leases, hedge delays and wrap deadlines
/// without sleeping. Sleepers wake when time is advanced past their deadline.
///
/// It is the engine's `WorkflowClock` (wall time as a `Date`); code that takes a Swift `Clock` gets the
/// same time through `continuous`. Time is kept as an exact `Duration` since `start`, so advancing by 249 ms
/// and then 1 ms reaches a 250 ms deadline exactly.
public final class ManualClock: WorkflowClock {
    /// A sleeper's deadline, in the unit its face uses.
    private enum Deadline {
        case elapsed(Duration)
        case date(Date)
    }

    private struct Sleeper {
        let id: UInt64
        let deadline: Deadline
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var elapsed = Duration.zero
        var sleepers: [Sleeper] = []
        var cancelledBeforeRegistering: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    public let start: Date
    private let state = Mutex(State())

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.start = start
    }

    public func now() -> Date { state.withLock { Self.date(start, $0.elapsed) } }

    /// How many sleeps are waiting on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Date) async throws {
        try await sleep(until: .date(deadline))
    }

    /// Moves time forward and wakes every sleep that is now due.
    public func advance(by duration: Duration) {
        let due: [Sleeper] = state.withLock { state in
            state.elapsed += duration
            let elapsed = state.elapsed
            let due = state.sleepers.filter { isDue($0.deadline, elapsed: elapsed) }
            state.sleepers.removeAll { isDue($0.deadline, elapsed: elapsed) }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    public func advance(by seconds: Double) {
        advance(by: .seconds(seconds))
    }

    /// Waits (yielding) until `count` sleeps are registered.
    public func waitForSleepers(_ count: Int) async {
        while sleeperCount < count { await Task.yield() }
    }

    /// The same time as a Swift `Clock`, for code generic over one (hedge delays, wrap deadlines).
    public var continuous: Continuous { Continuous(clock: self) }

    /// A Swift `Clock` view of a `ManualClock`: instants are the time elapsed since its start.
    public struct Continuous: Clock {
        public struct Instant: InstantProtocol {
            public var offset: Duration
            public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
            public func duration(to other: Instant) -> Duration { other.offset - offset }
            public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        }

        let clock: ManualClock

        public var now: Instant { Instant(offset: clock.state.withLock { $0.elapsed }) }
        public var minimumResolution: Duration { .zero }

        public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
            try await clock.sleep(until: .elapsed(deadline.offset))
        }
    }

    private static func date(_ start: Date, _ elapsed: Duration) -> Date {
        let parts = elapsed.components
        return start.addingTimeInterval(Double(parts.seconds) + Double(parts.attoseconds) * 1e-18)
    }

    private func isDue(_ deadline: Deadline, elapsed: Duration) -> Bool {
        switch deadline {
        case .elapsed(let offset): offset <= elapsed
        case .date(let date): date <= Self.date(start, elapsed)
        }
    }

    private func sleep(until deadline: Deadline) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelledBeforeRegistering.remove(id) != nil { return .failure(CancellationError()) }
                    if isDue(deadline, elapsed: state.elapsed) { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                if let index = state.sleepers.firstIndex(where: { $0.id == id }) { return state.sleepers.remove(at: index) }
                state.cancelledBeforeRegistering.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
