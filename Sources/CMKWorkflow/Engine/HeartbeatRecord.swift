import Foundation
import Synchronization

/// The time of a running handler's last heartbeat, shared between the handler and the watchdog.
final class HeartbeatRecord: Sendable {
    private let last: Mutex<Date>

    init(_ start: Date) {
        last = Mutex(start)
    }

    func beat(at date: Date) {
        last.withLock { $0 = date }
    }

    var lastBeat: Date {
        last.withLock { $0 }
    }
}
