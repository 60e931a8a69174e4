import CMKKMS
import CMKWorkflow
import Foundation
import Synchronization

/// What encrypt and decrypt last read of each tenant, reused between calls only while a change feed
/// follower vouches that it would have heard of a change.
///
/// Without a follower (a one-shot CLI command) nothing is ever trusted and every call reads the store.
/// With one, a snapshot is trusted while the follower's last good poll is recent (`vouch(until:)`) and
/// the snapshot is younger than `maxAge`; a change to the tenant forgets it at once. A read that raced a
/// change is not kept (each tenant has an epoch that a change moves on), so a stale snapshot can never
/// be stored after the change that made it stale.
public final class TenantDirectory: Sendable {
    /// One consistent read of a tenant: its record (nil when it is not registered) and its generations.
    struct Snapshot: Sendable {
        let record: TenantRecord?
        let generations: [KeyGeneration]
    }

    /// Proof of which epoch a read started in, handed back with its result.
    struct Ticket: Sendable {
        fileprivate let tenantEpoch: UInt64
        fileprivate let resetEpoch: UInt64
    }

    private struct Entry {
        let snapshot: Snapshot
        let takenAt: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var epochs: [String: UInt64] = [:]
        var resetEpoch: UInt64 = 0
        var vouchedUntil: Date?
    }

    /// The longest a snapshot is reused even while the feed vouches for it: a bound that holds even if a
    /// change were somehow missed.
    public let maxAge: Duration
    let clock: any WorkflowClock
    private let state = Mutex(State())

    init(maxAge: Duration, clock: any WorkflowClock) {
        self.maxAge = maxAge
        self.clock = clock
    }

    /// How many tenants are held, for metrics.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Whether snapshots are being trusted now (a follower polled recently).
    public var isVouched: Bool {
        let now = clock.now()
        return state.withLock { state in state.vouchedUntil.map { now < $0 } ?? false }
    }

    func snapshot(of tenant: String) -> Snapshot? {
        let now = clock.now()
        return state.withLock { state -> Snapshot? in
            guard let until = state.vouchedUntil, now < until, let entry = state.entries[tenant] else { return nil }
            guard now.timeIntervalSince(entry.takenAt) < maxAge.timeInterval else {
                state.entries[tenant] = nil
                return nil
            }
            return entry.snapshot
        }
    }

    /// Taken before reading the store, so that `keep` can tell whether a change came in between.
    func ticket(for tenant: String) -> Ticket {
        state.withLock { Ticket(tenantEpoch: $0.epochs[tenant] ?? 0, resetEpoch: $0.resetEpoch) }
    }

    func keep(_ snapshot: Snapshot, of tenant: String, ticket: Ticket, takenAt: Date) {
        state.withLock { state in
            guard state.vouchedUntil != nil, ticket.resetEpoch == state.resetEpoch,
                  ticket.tenantEpoch == state.epochs[tenant] ?? 0 else { return }
            state.entries[tenant] = Entry(snapshot: snapshot, takenAt: takenAt)
        }
    }

    /// Forgets one tenant (the feed reported a change to it).
    func forget(_ tenant: String) {
        state.withLock { state in
            state.entries[tenant] = nil
            state.epochs[tenant, default: 0] &+= 1
        }
    }

    /// Forgets every tenant (the feed was interrupted and may have missed changes).
    func forgetAll() {
        state.withLock { state in
            state.entries = [:]
            state.epochs = [:]
            state.resetEpoch &+= 1
        }
    }

    /// Trusts snapshots until `deadline` (the follower just polled successfully).
    func vouch(until deadline: Date) {
        state.withLock { $0.vouchedUntil = deadline }
    }

    /// Stops trusting snapshots (the follower stopped or cannot reach the store).
    func withdraw() {
        state.withLock { $0.vouchedUntil = nil }
    }
}
