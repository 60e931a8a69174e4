extension MaterialsCache {
    /// When a cached entry is refreshed, when it may no longer be served, and how many entries are kept.
    ///
    /// Every age counts from the entry's creation (a successful keyring call), never from its last use:
    /// the hard age is part of the revocation bound, so use must not extend it (AWS Encryption SDK
    /// issue 841). Past a soft limit the entry is still served while one refresh runs in the
    /// background, so an encrypt does not wait for KMS; past a hard limit it is not served at all.
    /// Message and byte limits count encryptions only; decryption entries have ages alone.
    public struct Limits: Sendable, Equatable {
        /// Age from which an entry is refreshed in the background.
        public var softAge: Duration
        /// Age from which an entry is never served.
        public var hardAge: Duration
        /// Messages after which an encryption entry is refreshed in the background.
        public var softMessages: UInt64
        /// Messages one cached data key may encrypt.
        public var maxMessages: UInt64
        /// Plaintext bytes after which an encryption entry is refreshed in the background.
        public var softBytes: UInt64
        /// Plaintext bytes one cached data key may encrypt; a message this large alone is not cached.
        public var maxBytes: UInt64
        /// Entries kept; the least recently used goes first.
        public var maxEntries: Int
        /// After a refresh failed, the entry waits this long before another refresh is tried, so a KMS
        /// outage does not turn every request into a KMS call.
        public var refreshRetryInterval: Duration
        /// New encryption materials also store the decryption entry of the messages they write (aged
        /// from the same creation), so a process reading back its own writes makes no KMS call.
        public var seedsDecryption: Bool
        /// Background refreshes running at once; past it a stale entry is served without starting one
        /// (a later request retries), so a burst of entries crossing their soft age together (a KMS
        /// outage ending, a cold start ageing) does not become a burst of KMS calls and CPU
        /// (the ESDK StormTracking cache's fan-out, 20 there too).
        public var maxRefreshesInFlight: Int

        /// Defaults: refresh after 4 minutes, never serve after 5 (the cache's share of the revocation
        /// bound), 2^32 messages per data key (the SDK's default), 2^31 before a refresh.
        public init(softAge: Duration = .seconds(240), hardAge: Duration = .seconds(300),
                    softMessages: UInt64 = 1 << 31, maxMessages: UInt64 = 1 << 32,
                    softBytes: UInt64 = 1 << 50, maxBytes: UInt64 = 1 << 52,
                    maxEntries: Int = 10_000, refreshRetryInterval: Duration = .seconds(1), seedsDecryption: Bool = false,
                    maxRefreshesInFlight: Int = 20) {
            self.softAge = softAge
            self.hardAge = hardAge
            self.softMessages = softMessages
            self.maxMessages = maxMessages
            self.softBytes = softBytes
            self.maxBytes = maxBytes
            self.maxEntries = maxEntries
            self.refreshRetryInterval = refreshRetryInterval
            self.seedsDecryption = seedsDecryption
            self.maxRefreshesInFlight = maxRefreshesInFlight
        }

        /// Refuses limits that contradict each other, naming the first.
        public func validate() throws {
            guard softAge > .zero, hardAge >= softAge else {
                throw EnvelopeError(.invalidArgument, "cache ages must satisfy 0 < soft age <= hard age (soft \(softAge), hard \(hardAge))")
            }
            guard softMessages >= 1, maxMessages >= softMessages else {
                throw EnvelopeError(.invalidArgument, "cache message limits must satisfy 1 <= soft <= max (soft \(softMessages), max \(maxMessages))")
            }
            guard softBytes >= 1, maxBytes >= softBytes else {
                throw EnvelopeError(.invalidArgument, "cache byte limits must satisfy 1 <= soft <= max (soft \(softBytes), max \(maxBytes))")
            }
            guard maxEntries >= 1 else {
                throw EnvelopeError(.invalidArgument, "the cache must hold at least one entry")
            }
            guard maxRefreshesInFlight >= 1 else {
                throw EnvelopeError(.invalidArgument, "at least one background refresh must be allowed in flight")
            }
            guard refreshRetryInterval >= .zero else {
                throw EnvelopeError(.invalidArgument, "the refresh retry interval must not be negative")
            }
        }
    }
}
