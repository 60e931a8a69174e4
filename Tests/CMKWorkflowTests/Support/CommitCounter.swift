import GRDB
import Synchronization

/// Counts the committed transactions that changed the journal's tables, as a transaction observer.
final class CommitCounter: TransactionObserver, Sendable {
    private struct State {
        var commits = 0
        var changed = false
    }

    private let state = Mutex(State())

    var commits: Int { state.withLock { $0.commits } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        eventKind.tableName == "executions" || eventKind.tableName == "events"
    }

    func databaseDidChange(with event: DatabaseEvent) {
        state.withLock { $0.changed = true }
    }

    func databaseDidCommit(_ db: Database) {
        state.withLock { state in
            if state.changed { state.commits += 1 }
            state.changed = false
        }
    }

    func databaseDidRollback(_ db: Database) {
        state.withLock { $0.changed = false }
    }
}
