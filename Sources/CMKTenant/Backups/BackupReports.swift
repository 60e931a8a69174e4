/// What a restore wrote (or, in a dry run, would write) to one data source.
public struct RestoreSourceCount: Sendable, Equatable, Codable {
    public let source: String
    /// Items of this source in the backup.
    public var items: Int
    /// Items that hold the backed-up bytes already.
    public var unchanged: Int
    /// Items that hold other bytes and are (would be) put back.
    public var updated: Int
    /// Items whose row or file is gone and is (would be) made anew.
    public var created: Int

    public init(source: String, items: Int = 0, unchanged: Int = 0, updated: Int = 0, created: Int = 0) {
        self.source = source
        self.items = items
        self.unchanged = unchanged
        self.updated = updated
        self.created = created
    }

    mutating func count(_ write: DataSourceWrite) {
        switch write {
        case .unchanged: unchanged += 1
        case .updated: updated += 1
        case .created: created += 1
        }
    }
}

/// The result of `BackupService.restore`.
public struct RestoreReport: Sendable, Equatable, Codable {
    public let backup: String
    public let tenant: String
    public let generation: Int
    /// True when nothing was written.
    public let dryRun: Bool
    /// Per data source, in the order of the configuration.
    public let sources: [RestoreSourceCount]

    public var items: Int { sources.reduce(0) { $0 + $1.items } }
}

/// One tenant's outcome in `BackupService.sweep`.
public struct BackupSweepResult: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        /// A new backup was written.
        case backedUp = "backed-up"
        /// The lifecycle refused; the catalogue records it as skipped with the reason.
        case skipped
        /// Its newest backup of the current generation is younger than `schedules.backupSeconds`.
        case notDue = "not-due"
        /// The backup failed (a data source, the store, KMS); the next sweep tries again.
        case failed
    }

    public let tenant: String
    public let outcome: Outcome
    /// The backup written, or the skipped entry recorded.
    public let backup: String?
    public let detail: String
}
