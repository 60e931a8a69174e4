extension MaterialsCache {
    /// Counters since the cache was made, for the metrics endpoint and the benchmarks.
    public struct Metrics: Sendable, Equatable {
        /// Requests served from an entry within every soft limit.
        public var hits = 0
        /// Requests served from an entry past a soft limit (a refresh was due).
        public var staleServes = 0
        /// Requests that waited for the provider: nothing servable was cached.
        public var misses = 0
        /// Requests that went to the provider without the cache (signed suites, unknown or too large
        /// plaintext sizes).
        public var bypasses = 0
        /// Background refreshes started.
        public var refreshes = 0
        /// Stale serves that started no refresh because `maxRefreshesInFlight` were running.
        public var refreshesDeferred = 0
        /// Background refreshes that failed (the old entry kept serving until its hard limits).
        public var refreshFailures = 0
        /// Calls to the provider under the cache (keyring calls): misses that fetched, refreshes and bypasses.
        public var providerCalls = 0
        /// Decryption entries stored from new encryption materials (reading back this process's own
        /// messages needs no KMS call).
        public var seededDecryptions = 0
        /// `purge` calls, and the entries they dropped.
        public var purges = 0
        public var purgedEntries = 0
        /// Entries dropped for the entry cap (least recently used).
        public var evictions = 0
        /// Entries dropped because they reached a hard limit.
        public var expirations = 0
        /// Entries held now.
        public var entries = 0
        /// Requests waiting for a provider call now (one fetching, the others sharing its result).
        public var waiting = 0

        public init() {}
    }
}
