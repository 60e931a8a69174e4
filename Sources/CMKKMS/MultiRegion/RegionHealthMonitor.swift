/// The shared, mutable side of multi-region key sets: the health table and the counters that
/// metrics export.
///
/// An actor because concurrent encrypts and decrypts all report into it.
public actor RegionHealthMonitor {
    private var table: RegionHealthTable
    private var counters = MultiRegionCounters()

    public init(table: RegionHealthTable = RegionHealthTable()) {
        self.table = table
    }

    public func record(region: String, latency: Duration, succeeded: Bool) {
        table.record(region: region, latency: latency, succeeded: succeeded)
    }

    public func ranked(_ regions: [String]) -> [String] {
        table.ranked(regions)
    }

    public func count(_ change: (inout MultiRegionCounters) -> Void) {
        change(&counters)
    }

    /// A consistent copy of the counters and per-region health, for metrics and tests.
    public func snapshot() -> MultiRegionSnapshot {
        MultiRegionSnapshot(counters: counters, health: table.regions)
    }
}

/// Counters of multi-region operations, monotonic since start.
public struct MultiRegionCounters: Sendable, Equatable {
    public var encrypts = 0
    /// Encrypts that succeeded with at least one region missing.
    public var degradedEncrypts = 0
    public var failedEncrypts = 0
    public var decrypts = 0
    public var failedDecrypts = 0
    /// Second (or later) regions asked because the first had not answered within the hedge delay.
    public var hedgesStarted = 0
    /// Decrypts won by a hedged request rather than the first one.
    public var hedgesWon = 0
    /// Regions asked immediately because the one before failed outright.
    public var failovers = 0
    /// Regions missing from the most recent encrypt.
    public var lastMissingRegions: [String] = []

    public init() {}
}

/// Counters plus health per region at one moment.
public struct MultiRegionSnapshot: Sendable {
    public let counters: MultiRegionCounters
    public let health: [String: RegionHealth]
}
