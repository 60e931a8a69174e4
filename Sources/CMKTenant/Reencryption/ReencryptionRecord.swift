import Foundation

/// One re-encryption of a tenant to a target generation as the store keeps it: what `status`,
/// `reencrypt --follow`, reinstatement and the sweep read while its workflow runs.
public struct ReencryptionRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Started or moving pages.
        case running
        /// Waiting for a key that KMS refuses (revoked or suspended tenant); resumes when it is back.
        case paused
        /// A verifying pass found nothing behind that could be moved.
        case completed
    }

    public var tenant: String
    /// The generation every item moves to.
    public var target: Int
    public var execution: String
    public var status: Status
    public var progress: ReencryptionProgress
    public var startedAt: Date
    public var updatedAt: Date

    public init(tenant: String, target: Int, execution: String, status: Status, progress: ReencryptionProgress,
                startedAt: Date, updatedAt: Date) {
        self.tenant = tenant
        self.target = target
        self.execution = execution
        self.status = status
        self.progress = progress
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }

    /// Whether the re-encryption still has work (a suspended tenant's reinstatement returns it to `re-encrypting`).
    public var isOpen: Bool { status != .completed }
}

/// Counters of a re-encryption, carried from page to page in the workflow's state and saved with each page.
public struct ReencryptionProgress: Sendable, Equatable, Codable {
    /// Items behind the target generation when the first pass counted them (the progress bar's total);
    /// items found behind later (application writes that raced the sweep) are added as they are met.
    public var total = 0
    /// Items moved to the target: rewrapped plus re-encrypted.
    public var rewrapped = 0
    public var reencrypted = 0
    /// Items met in the current pass.
    public var scanned = 0
    /// Full passes over every source; the last one is the verifying scan.
    public var passes = 0
    public var lostRaces = 0
    public var vanished = 0
    /// KMS calls made by the sweep so far.
    public var kmsCalls = 0
    /// Items that could not be moved, with their reasons (the first `failureSampleLimit` of them).
    public var failures: [Failure] = []
    public var failureCount = 0
    /// Why the sweep is paused, in words; nil while it runs.
    public var pausedReason: String?
    /// Seconds spent moving pages (not paused), for the rate and the ETA.
    public var activeSeconds: Double = 0

    public struct Failure: Sendable, Equatable, Codable {
        public var source: String
        public var id: String
        public var column: String
        public var reason: String

        public init(source: String, id: String, column: String, reason: String) {
            self.source = source
            self.id = id
            self.column = column
            self.reason = reason
        }
    }

    public static let failureSampleLimit = 100

    public init() {}

    public var moved: Int { rewrapped + reencrypted }

    /// Items per second while moving; nil before there is anything to measure.
    public var rate: Double? {
        guard activeSeconds > 0, moved > 0 else { return nil }
        return Double(moved) / activeSeconds
    }

    /// Seconds until the counted items are moved at the current rate.
    public var etaSeconds: Double? {
        guard let rate, rate > 0 else { return nil }
        return Double(max(0, total - moved - failureCount)) / rate
    }
}

/// How many items of a tenant one data source holds under one generation, as the last scan found them.
public struct LedgerEntry: Sendable, Equatable, Codable {
    public var tenant: String
    public var source: String
    /// The generation the items are under; `LedgerEntry.unreadable` for items no generation of the
    /// tenant can open (not a message, or wrapped under keys the tenant never had).
    public var generation: Int
    public var items: Int
    public var updatedAt: Date
    /// Set when a full header scan (`ledger --verify`, a re-encryption's verifying pass) wrote the count.
    public var verifiedAt: Date?

    public static let unreadable = -1

    public init(tenant: String, source: String, generation: Int, items: Int, updatedAt: Date, verifiedAt: Date?) {
        self.tenant = tenant
        self.source = source
        self.generation = generation
        self.items = items
        self.updatedAt = updatedAt
        self.verifiedAt = verifiedAt
    }
}

extension ReencryptionRecord {
    /// A record from its stored columns (the progress as JSON), for the backends.
    public static func stored(tenant: String, target: Int, execution: String, status: String, progress: String,
                              startedAt: Double, updatedAt: Double) throws -> ReencryptionRecord {
        guard let status = Status(rawValue: status) else {
            throw TenantError(.storeFailure, "the re-encryption of tenant \(tenant) to generation \(target) has unknown status \(status)")
        }
        let decoded = try JSONDecoder().decode(ReencryptionProgress.self, from: Data(progress.utf8))
        return ReencryptionRecord(tenant: tenant, target: target, execution: execution, status: status, progress: decoded,
                                  startedAt: Date(timeIntervalSince1970: startedAt), updatedAt: Date(timeIntervalSince1970: updatedAt))
    }
}
