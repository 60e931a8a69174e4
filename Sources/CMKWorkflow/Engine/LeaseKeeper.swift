import Foundation
import Synchronization

/// Renews the leases of executions whose handler runs on the worker's own task, from one background task.
///
/// A handler without TimeoutSeconds or HeartbeatSeconds has nothing to watch but its lease, so it runs
/// inline instead of beside a watchdog child task; that saves two task switches per attempt. The keeper's
/// loop wakes every third of the lease and renews every execution held at that moment, so a held lease is
/// renewed within a third of its length of being taken and then every third. It ends itself when it
/// wakes to find nothing held, and the next `hold` starts it again.
final class LeaseKeeper: Sendable {
    private struct State {
        var held: [String: Int] = [:]
        var running = false
    }

    private let state = Mutex(State())
    private let journal: any WorkflowJournal
    private let owner: String
    private let leaseSeconds: Double
    private let clock: any WorkflowClock

    init(journal: any WorkflowJournal, owner: String, leaseSeconds: Double, clock: any WorkflowClock) {
        self.journal = journal
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.clock = clock
    }

    /// Keeps `execution`'s lease renewed until the matching `release`.
    func hold(_ execution: String) {
        let start = state.withLock { state in
            state.held[execution, default: 0] += 1
            defer { state.running = true }
            return !state.running
        }
        if start {
            Task { await self.renewWhileHeld() }
        }
    }

    func release(_ execution: String) {
        state.withLock { state in
            if let count = state.held[execution], count > 1 {
                state.held[execution] = count - 1
            } else {
                state.held[execution] = nil
            }
        }
    }

    private func renewWhileHeld() async {
        while true {
            do {
                try await clock.sleep(until: clock.now().addingTimeInterval(leaseSeconds / 3))
            } catch {
                state.withLock { $0.running = false }
                return
            }
            let held: [String]? = state.withLock { state in
                guard !state.held.isEmpty else {
                    state.running = false
                    return nil
                }
                return Array(state.held.keys)
            }
            guard let held else { return }
            for execution in held {
                // A lost lease is noticed by the worker's next fenced commit, which discards the step.
                _ = try? await journal.renewLease(execution: execution, owner: owner, leaseSeconds: leaseSeconds, now: clock.now())
            }
        }
    }
}
