import Crypto

/// Encryption and decryption materials kept in memory so most messages need no KMS call: the AWS
/// Encryption SDK's caching materials manager, with the soft limits and background refresh of
/// Atlassian's Cryptor.
///
/// An entry past a soft limit (`Limits`) is still served while exactly one refresh runs in the
/// background, so an encrypt never waits for KMS while a servable entry exists; an entry past a
/// hard limit is never served. Concurrent requests for an entry that is missing share one provider
/// call (single flight). Entries belong to a partition owner (a tenant), and `purge(owner:)` drops
/// them all, including any refresh in flight, whose result is then discarded. A request naming a
/// new scope for an owner (its next key generation) purges the owner's older entries too. With
/// `Limits.seedsDecryption`, new encryption materials also seed the decryption entry of the messages
/// they write, aged from the same creation, so reading back one's own writes costs no KMS call.
///
/// Time comes from an injected clock, so every limit is tested without sleeping.
public actor MaterialsCache {
    /// Whose materials an entry holds and under which keys: entries are shared only within one
    /// partition. `owner` is what `purge(owner:)` matches (a tenant); `scope` separates the owner's
    /// key sets (a key generation), so a new scope never serves an old scope's materials.
    public struct Partition: Hashable, Sendable {
        public let owner: String
        public let scope: String

        public init(owner: String, scope: String) {
            self.owner = owner
            self.scope = scope
        }
    }

    /// What one request adds to an entry's usage.
    struct Usage {
        var messages: UInt64
        var bytes: UInt64

        static let none = Usage(messages: 0, bytes: 0)
    }

    /// Materials of either kind, as the cache stores them.
    enum Materials: Sendable {
        case encryption(EncryptionMaterials)
        case decryption(DecryptionMaterials)

        /// Decryption materials without a data key (no keyring could unwrap) are never stored.
        var isStorable: Bool {
            if case .decryption(let materials) = self { return materials.plaintextDataKey != nil }
            return true
        }
    }

    /// An entry's identity: its partition in clear (for purges) and a SHA-384 digest of the rest.
    struct EntryKey: Hashable, Sendable {
        let partition: Partition
        let digest: [UInt8]

        var owner: String { partition.owner }
    }

    private struct Entry {
        var materials: Materials
        /// When the provider made the materials, on the cache's clock.
        let createdAt: Duration
        var messages: UInt64
        var bytes: UInt64
        /// No background refresh before this (after a failed one).
        var refreshNotBefore: Duration = .zero
    }

    private struct Flight {
        let id: UInt64
        let task: Task<Materials, any Error>
    }

    private enum Assessment {
        case fresh, stale, unservable
    }

    public nonisolated let limits: Limits
    /// Time since the cache was made, on its clock.
    private let elapsed: @Sendable () -> Duration

    private var entries: [EntryKey: Entry] = [:]
    private var order = LRUOrder<EntryKey>()
    private var flights: [EntryKey: Flight] = [:]
    private var nextFlightID: UInt64 = 0
    /// The flights that are background refreshes, until their fetch ends (a purge does not end them).
    private var refreshing: Set<UInt64> = []
    /// Bumped by each purge of an owner, so a fetch that started before the purge is not stored.
    private var purgeEpochs: [String: UInt64] = [:]
    /// The scope each owner's latest request named.
    private var scopes: [String: String] = [:]
    private var counters = Metrics()
    private var waiting = 0

    public init<C: Clock>(limits: Limits = Limits(), clock: C) throws where C.Duration == Duration {
        try limits.validate()
        self.limits = limits
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
    }

    public init(limits: Limits = Limits()) throws {
        try self.init(limits: limits, clock: ContinuousClock())
    }

    public var metrics: Metrics {
        var snapshot = counters
        snapshot.entries = entries.count
        snapshot.waiting = waiting
        return snapshot
    }

    /// Drops every entry of `owner` and forgets its fetches in flight (a generation switch, a
    /// suspension, an offboarding); returns how many entries went.
    @discardableResult
    public func purge(owner: String) -> Int {
        let doomed = entries.keys.filter { $0.owner == owner }
        for key in doomed {
            entries[key] = nil
            order.remove(key)
        }
        for key in flights.keys where key.owner == owner {
            flights[key] = nil
        }
        purgeEpochs[owner, default: 0] += 1
        counters.purges += 1
        counters.purgedEntries += doomed.count
        return doomed.count
    }

    /// Drops every entry of every owner and forgets every fetch in flight (the process may have missed
    /// a change to any of them); returns how many entries went.
    @discardableResult
    public func purgeAll() -> Int {
        let doomed = Array(entries.keys)
        for key in doomed {
            order.remove(key)
        }
        entries = [:]
        // A fetch in flight is not stored once its flight is gone (`finishFlight` checks the flight's id).
        flights = [:]
        counters.purges += 1
        counters.purgedEntries += doomed.count
        return doomed.count
    }

    /// Drops every entry past its hard age, so key material does not linger in memory unused.
    @discardableResult
    public func removeExpired() -> Int {
        let now = elapsed()
        let expired = entries.filter { now - $0.value.createdAt >= limits.hardAge }.map(\.key)
        for key in expired {
            entries[key] = nil
            order.remove(key)
        }
        counters.expirations += expired.count
        return expired.count
    }

    /// Waits until no fetch or refresh is in flight (tests, shutdown).
    public func waitForFetches() async {
        while let flight = flights.values.first {
            _ = await flight.task.result
        }
    }

    /// Counts a request the provider served without the cache.
    func recordBypass() {
        counters.bypasses += 1
        counters.providerCalls += 1
    }

    /// Serves `key` from the cache, or from `fetch` (one call however many requests wait for it).
    func materials(for key: EntryKey, usage: Usage,
                   fetch: @escaping @Sendable () async throws -> Materials) async throws -> Materials {
        if let known = scopes[key.owner], known != key.partition.scope {
            purge(owner: key.owner)
        }
        scopes[key.owner] = key.partition.scope
        var waited = false
        while true {
            let now = elapsed()
            if var entry = entries[key] {
                let assessment = assess(entry, adding: usage, at: now)
                if assessment == .unservable {
                    entries[key] = nil
                    order.remove(key)
                    counters.expirations += 1
                } else {
                    entry.messages += usage.messages
                    entry.bytes += usage.bytes
                    entries[key] = entry
                    order.touch(key)
                    if waited {
                        counters.misses += 1
                    } else if assessment == .fresh {
                        counters.hits += 1
                    } else {
                        counters.staleServes += 1
                    }
                    // One refresh per entry at a time; the request that found it due does not wait for it.
                    if assessment == .stale && flights[key] == nil && now >= entry.refreshNotBefore {
                        if refreshing.count < limits.maxRefreshesInFlight {
                            counters.refreshes += 1
                            let flight = startFlight(key, fetch: fetch, initialUsage: .none)
                            refreshing.insert(flight.id)
                        } else {
                            counters.refreshesDeferred += 1
                        }
                    }
                    return entry.materials
                }
            }
            waited = true
            if let flight = flights[key] {
                // Joined someone else's fetch: on success the entry is stored, and the next round
                // counts this request against it.
                waiting += 1
                let result = await flight.task.result
                waiting -= 1
                let materials = try result.get()
                if !materials.isStorable {
                    counters.misses += 1
                    return materials
                }
                continue
            }
            let flight = startFlight(key, fetch: fetch, initialUsage: usage)
            waiting += 1
            let result = await flight.task.result
            waiting -= 1
            let materials = try result.get()
            counters.misses += 1
            return materials
        }
    }

    /// Starts the provider call for `key`; its result is stored with `initialUsage` (the request
    /// that fetched it) unless the owner was purged meanwhile.
    @discardableResult
    private func startFlight(_ key: EntryKey, fetch: @escaping @Sendable () async throws -> Materials, initialUsage: Usage) -> Flight {
        nextFlightID += 1
        let id = nextFlightID
        let epoch = purgeEpochs[key.owner, default: 0]
        counters.providerCalls += 1
        let task = Task<Materials, any Error> {
            do {
                let materials = try await fetch()
                self.finishFlight(key, id: id, epoch: epoch, storing: materials, usage: initialUsage)
                return materials
            } catch {
                self.failFlight(key, id: id)
                throw error
            }
        }
        let flight = Flight(id: id, task: task)
        flights[key] = flight
        return flight
    }

    private func finishFlight(_ key: EntryKey, id: UInt64, epoch: UInt64, storing materials: Materials, usage: Usage) {
        refreshing.remove(id)
        guard flights[key]?.id == id else { return }
        flights[key] = nil
        guard purgeEpochs[key.owner, default: 0] == epoch, materials.isStorable else { return }
        let createdAt = elapsed()
        entries[key] = Entry(materials: materials, createdAt: createdAt, messages: usage.messages, bytes: usage.bytes)
        order.touch(key)
        if limits.seedsDecryption, case .encryption(let encryption) = materials {
            seedDecryption(of: encryption, partition: key.partition, createdAt: createdAt)
        }
        while entries.count > limits.maxEntries, let oldest = order.removeOldest() {
            entries[oldest] = nil
            counters.evictions += 1
        }
    }

    /// Stores the decryption materials of messages that fresh encryption materials will write: the
    /// data key came from the keyring a moment ago, so reading back what this process wrote needs no
    /// second KMS call. The entry carries the encryption entry's creation time (never a later one),
    /// so it expires with it and the revocation bound is unchanged.
    private func seedDecryption(of encryption: EncryptionMaterials, partition: Partition, createdAt: Duration) {
        guard let dataKey = encryption.plaintextDataKey, !encryption.encryptedDataKeys.isEmpty,
              let key = try? EntryKey.decryption(partition, suite: encryption.suite, encryptedDataKeys: encryption.encryptedDataKeys,
                                                 context: encryption.encryptionContext),
              entries[key] == nil else { return }
        var decryption = DecryptionMaterials(suite: encryption.suite, encryptionContext: encryption.encryptionContext)
        guard (try? decryption.setPlaintextDataKey(dataKey)) != nil else { return }
        entries[key] = Entry(materials: .decryption(decryption), createdAt: createdAt, messages: 0, bytes: 0)
        order.touch(key)
        counters.seededDecryptions += 1
    }

    /// A failed fetch: a stale entry keeps serving (until its hard limits) and is not refreshed
    /// again before the retry interval.
    private func failFlight(_ key: EntryKey, id: UInt64) {
        refreshing.remove(id)
        guard flights[key]?.id == id else { return }
        flights[key] = nil
        if var entry = entries[key] {
            entry.refreshNotBefore = elapsed() + limits.refreshRetryInterval
            entries[key] = entry
            counters.refreshFailures += 1
        }
    }

    private func assess(_ entry: Entry, adding usage: Usage, at now: Duration) -> Assessment {
        let age = now - entry.createdAt
        let (messages, messagesOverflow) = entry.messages.addingReportingOverflow(usage.messages)
        let (bytes, bytesOverflow) = entry.bytes.addingReportingOverflow(usage.bytes)
        if age >= limits.hardAge || messagesOverflow || bytesOverflow || messages > limits.maxMessages || bytes > limits.maxBytes {
            return .unservable
        }
        if age >= limits.softAge || messages > limits.softMessages || bytes > limits.softBytes {
            return .stale
        }
        return .fresh
    }
}

extension MaterialsCache.EntryKey {
    /// The key of encryption materials: the partition, the suite and the context sent to KMS.
    static func encryption(_ partition: MaterialsCache.Partition, suite: AlgorithmSuite, context: EncryptionContext) throws -> Self {
        var hash = SHA384()
        hash.update(data: [0x01])
        feed(&hash, Array(partition.scope.utf8))
        hash.update(data: [UInt8(suite.id >> 8), UInt8(suite.id & 0xFF)])
        feed(&hash, try context.serialized())
        return Self(partition: partition, digest: Array(hash.finalize()))
    }

    /// The key of decryption materials: the partition, the suite, the encrypted data keys (in sorted
    /// order, so their order in the header does not matter) and the message's context.
    static func decryption(_ partition: MaterialsCache.Partition, suite: AlgorithmSuite, encryptedDataKeys: [EncryptedDataKey],
                           context: EncryptionContext) throws -> Self {
        var hash = SHA384()
        hash.update(data: [0x02])
        feed(&hash, Array(partition.scope.utf8))
        hash.update(data: [UInt8(suite.id >> 8), UInt8(suite.id & 0xFF)])
        let serialized = encryptedDataKeys.map { key -> [UInt8] in
            var bytes: [UInt8] = []
            for field in [key.providerID, key.providerInfo, key.ciphertext] {
                bytes += lengthPrefix(field.count) + field
            }
            return bytes
        }
        hash.update(data: lengthPrefix(serialized.count))
        for key in serialized.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            feed(&hash, key)
        }
        feed(&hash, try context.serialized())
        return Self(partition: partition, digest: Array(hash.finalize()))
    }

    /// Each field with its length first, so no two different field lists hash the same bytes.
    private static func feed(_ hash: inout SHA384, _ field: [UInt8]) {
        hash.update(data: lengthPrefix(field.count))
        hash.update(data: field)
    }

    private static func lengthPrefix(_ count: Int) -> [UInt8] {
        let value = UInt64(count)
        return (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
    }
}
