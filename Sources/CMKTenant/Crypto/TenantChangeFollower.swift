import CMKWorkflow
import Foundation
import Logging
import Synchronization

/// Follows the store's change feed for one `TenantCrypto`: a tenant that another process suspended,
/// rotated or retired is forgotten here (its snapshot and its cached data keys) within one poll.
///
/// The delay between a change's commit and this process's purge is part of the revocation bound: on
/// SQLite it is at most the poll interval; on PostgreSQL a trigger's `NOTIFY` wakes the follower at
/// once and the poll only covers a lost notification. Each change is a hint to forget, so reading one
/// twice is harmless; a poll that fails withdraws every snapshot (calls read the store again) until a
/// poll succeeds, and then everything held is forgotten, since changes may have been missed meanwhile.
public final class TenantChangeFollower<Repository: TenantRepository>: Sendable {
    public let pollInterval: Duration
    let repository: Repository
    let directory: TenantDirectory
    let forget: @Sendable (String) async -> Void
    let forgetAll: @Sendable () async -> Void
    let clock: any WorkflowClock
    let logger: Logger
    /// When set, a forgotten tenant that turns out suspended or offboarded is acknowledged in the store
    /// under this name: the end of its revocation bound.
    let processName: String?
    private let progress = Mutex(Progress())

    /// Where the follower is, for readiness and metrics.
    public struct Progress: Sendable {
        /// The newest change read (0 before the first poll).
        public var seq: Int64 = 0
        /// When the last poll succeeded.
        public var lastPoll: Date?
        /// Changes read since the follower started.
        public var changesSeen = 0
        /// Polls that failed since the follower started.
        public var failedPolls = 0
        /// The most recent changes' commit-to-purge delays in seconds, newest last (at most 1,024).
        public var recentDelays: [Double] = []
    }

    init(repository: Repository, directory: TenantDirectory, pollInterval: Duration, clock: any WorkflowClock, logger: Logger,
         processName: String?, forget: @escaping @Sendable (String) async -> Void, forgetAll: @escaping @Sendable () async -> Void) {
        self.processName = processName
        self.repository = repository
        self.directory = directory
        self.pollInterval = pollInterval
        self.clock = clock
        self.logger = logger
        self.forget = forget
        self.forgetAll = forgetAll
    }

    public var snapshot: Progress { progress.withLock { $0 } }

    /// Whether the feed is being followed: the last poll succeeded within three intervals (and at most
    /// three seconds) of now. What `/health/ready` reports.
    public var isCurrent: Bool {
        guard let lastPoll = snapshot.lastPoll else { return false }
        return clock.now().timeIntervalSince(lastPoll) < vouchWindow
    }

    private var vouchWindow: TimeInterval { max(3 * pollInterval.timeInterval, 3) }

    /// Follows the feed until the task is cancelled (then it withdraws every snapshot and returns).
    ///
    /// - Parameter observe: called with each change and the time this process forgot its tenant (the
    ///   benchmark of the propagation delay).
    public func run(observe: (@Sendable (TenantChange, Date) -> Void)? = nil) async {
        defer { directory.withdraw() }
        var position: Int64?
        var interrupted = false
        while !Task.isCancelled {
            do {
                if position == nil {
                    position = try await repository.read { transaction in try await self.repository.latestTenantChange(in: transaction) }
                }
                position = try await drain(after: position ?? 0, observe: observe)
                if interrupted {
                    await forgetAll()
                    interrupted = false
                }
                let now = clock.now()
                progress.withLock { $0.lastPoll = now }
                directory.vouch(until: now.addingTimeInterval(vouchWindow))
            } catch {
                if Task.isCancelled { return }
                directory.withdraw()
                interrupted = true
                progress.withLock { $0.failedPolls += 1 }
                logger.warning("cannot read the tenant change feed; every call reads the store until it can",
                               metadata: ["error": "\(error)"])
            }
            do {
                try await repository.waitForTenantChange(until: clock.now().addingTimeInterval(pollInterval.timeInterval), clock: clock)
            } catch {
                return
            }
        }
    }

    /// Records, for each tenant just forgotten that is now suspended or offboarded, that this process
    /// stopped serving it (once per suspension).
    private func acknowledgeSuspensions(_ tenants: [String], process: String, at date: Date) async throws {
        let repository = repository
        let refused = try await repository.read { transaction in
            var refused: [TenantRecord] = []
            for tenant in tenants {
                if let record = try await repository.tenant(tenant, in: transaction), !record.lifecycle.allows(.decrypt) {
                    refused.append(record)
                }
            }
            return refused
        }
        guard !refused.isEmpty else { return }
        _ = try await repository.write { transaction in
            for record in refused {
                try await repository.recordPurge(
                    PurgeAcknowledgement(tenant: record.id, process: process, suspendedAt: record.updatedAt, purgedAt: date), in: transaction)
            }
        }
    }

    /// Reads every change after `seq`, forgetting each tenant named; returns the newest number read.
    private func drain(after seq: Int64, observe: (@Sendable (TenantChange, Date) -> Void)?) async throws -> Int64 {
        var position = seq
        let batch = 1000
        while true {
            let after = position
            let changes = try await repository.read { transaction in
                try await self.repository.tenantChanges(after: after, limit: batch, in: transaction)
            }
            var forgotten = Set<String>()
            for change in changes where forgotten.insert(change.tenant).inserted {
                directory.forget(change.tenant)
                await forget(change.tenant)
            }
            let now = clock.now()
            if let observe {
                for change in changes { observe(change, now) }
            }
            progress.withLock { progress in
                progress.changesSeen += changes.count
                for change in changes {
                    progress.recentDelays.append(max(0, now.timeIntervalSince(change.at)))
                }
                if progress.recentDelays.count > 1024 { progress.recentDelays.removeFirst(progress.recentDelays.count - 1024) }
            }
            if let last = changes.last {
                position = last.seq
                progress.withLock { $0.seq = last.seq }
            }
            if let processName, !forgotten.isEmpty {
                // The purge already happened; a record that cannot be written only leaves the bound unmeasured.
                do {
                    try await acknowledgeSuspensions(Array(forgotten), process: processName, at: now)
                } catch {
                    logger.warning("cannot record this process's purge of a suspended tenant", metadata: ["error": "\(error)"])
                }
            }
            if changes.count < batch { return position }
        }
    }
}
