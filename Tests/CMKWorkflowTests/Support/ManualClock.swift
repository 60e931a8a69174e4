import CMKWorkflow
import Foundation
import Synchronization

/// A clock that only moves when a test says so; sleepers wake when time is advanced past their deadline.
final class ManualClock: WorkflowClock {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    func now() -> Date { current.withLock { $0 } }

    func advance(by seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    func sleep(until deadline: Date) async throws {
        while now() < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
