import CMKEnvelope
import CMKTesting
import Crypto
import Synchronization
import Testing

/// The materials cache with a manual clock: every limit, single flight, background refresh, purge and
/// the entry cap, without sleeping. The provider under the cache is a real raw AES keyring, counted
/// and, where a test needs a call to stay in flight, held at a gate.
@Suite struct MaterialsCacheTests {
    static let suite = AlgorithmSuite.aes256GCMHKDFSHA512CommitKey
    static let context = try! EncryptionContext([("tenant", "acme")])
    static let partition = MaterialsCache.Partition(owner: "acme", scope: "generation 1")

    // MARK: Hits, misses, single flight

    @Test func oneProviderCallServesManyMessagesThatAllDecrypt() async throws {
        let rig = try Rig()
        let materials = rig.caching()
        var messages: [[UInt8]] = []
        for index in 0..<10 {
            messages.append(try await Envelope().encrypt(Array("message \(index)".utf8), context: Self.context, materials: materials))
        }
        #expect(rig.provider.encryptCalls == 1)
        let metrics = await rig.cache.metrics
        #expect(metrics.misses == 1 && metrics.hits == 9 && metrics.providerCalls == 1 && metrics.entries == 1)
        // Every message opens with the keyring alone (no cache), and all share one data key copy.
        for (index, message) in messages.enumerated() {
            let decrypted = try await Envelope().decrypt(message, keyring: rig.keyring, requiredContext: Self.context)
            #expect(decrypted.plaintext == Array("message \(index)".utf8))
            #expect(decrypted.encryptedDataKeys == (try await Envelope().decrypt(messages[0], keyring: rig.keyring)).encryptedDataKeys)
        }
    }

    @Test func hundredConcurrentCallersShareOneKeyringCall() async throws {
        let rig = try Rig()
        rig.provider.gate.close()
        let materials = rig.caching()
        let request = Self.request(length: 100)
        try await withThrowingTaskGroup(of: [EncryptedDataKey].self) { group in
            for _ in 0..<100 {
                group.addTask { try await materials.encryptionMaterials(for: request).encryptedDataKeys }
            }
            // All hundred are inside the cache, one of them fetching, before the keyring may answer.
            try await until { await rig.cache.metrics.waiting == 100 }
            #expect(rig.provider.gate.waiting == 1)
            rig.provider.gate.open()
            var copies: Set<[EncryptedDataKey]> = []
            for try await keys in group { copies.insert(keys) }
            #expect(copies.count == 1)
        }
        #expect(rig.provider.encryptCalls == 1)
        let metrics = await rig.cache.metrics
        #expect(metrics.providerCalls == 1 && metrics.misses == 100 && metrics.hits == 0)
    }

    @Test func aFailedFetchFailsEveryoneWaitingAndIsNotCached() async throws {
        let rig = try Rig()
        rig.provider.gate.close()
        rig.provider.failing.store(true, ordering: .relaxed)
        let materials = rig.caching()
        let request = Self.request(length: 10)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask { (try? await materials.encryptionMaterials(for: request)) == nil }
            }
            try? await until { await rig.cache.metrics.waiting == 10 }
            rig.provider.gate.open()
            var failed = 0
            for await didFail in group where didFail { failed += 1 }
            return failed
        }
        #expect(failures == 10)
        #expect(rig.provider.encryptCalls == 1)
        rig.provider.failing.store(false, ordering: .relaxed)
        _ = try await materials.encryptionMaterials(for: request)
        #expect(rig.provider.encryptCalls == 2)
        #expect(await rig.cache.metrics.entries == 1)
    }

    // MARK: Ages

    @Test func pastTheSoftAgeTheEntryIsServedWhileOneRefreshRunsInTheBackground() async throws {
        let rig = try Rig(limits: .init(softAge: .seconds(60), hardAge: .seconds(120)))
        let materials = rig.caching()
        let request = Self.request(length: 10)
        let first = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        rig.clock.advance(by: .seconds(60))
        rig.provider.gate.close()
        // Fifty requests past the soft age all return with the old key while the one refresh they
        // triggered is held at the gate: an encrypt never waits for KMS while the entry is servable.
        let served = Task {
            var keys: Set<[EncryptedDataKey]> = []
            for _ in 0..<50 { keys.insert(try await materials.encryptionMaterials(for: request).encryptedDataKeys) }
            return keys
        }
        try await until { await rig.cache.metrics.staleServes == 50 }
        #expect(try await served.value == [first])
        try await until { rig.provider.gate.waiting == 1 }
        var metrics = await rig.cache.metrics
        #expect(metrics.staleServes == 50 && metrics.refreshes == 1 && metrics.providerCalls == 2)
        rig.provider.gate.open()
        await rig.cache.waitForFetches()
        let refreshed = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        #expect(refreshed != first)
        metrics = await rig.cache.metrics
        #expect(metrics.hits == 1 && metrics.refreshes == 1 && rig.provider.encryptCalls == 2)
        // The refreshed entry's age counts from its own creation: fresh for another 60 s.
        rig.clock.advance(by: .seconds(59))
        _ = try await materials.encryptionMaterials(for: request)
        #expect(await rig.cache.metrics.refreshes == 1)
    }

    @Test func refreshesInFlightAreCappedAndTheRestServeStaleUntilASlotFrees() async throws {
        let rig = try Rig(limits: .init(softAge: .seconds(60), hardAge: .seconds(120), maxRefreshesInFlight: 20))
        let owners = (0..<30).map { MaterialsCache.Partition(owner: "tenant\($0)", scope: "generation 1") }
        let request = Self.request(length: 10)
        for owner in owners { _ = try await rig.caching(owner).encryptionMaterials(for: request) }
        rig.clock.advance(by: .seconds(61))
        rig.provider.gate.close()
        // Thirty entries cross the soft age together: twenty refreshes start, ten requests are served
        // stale without one, and none waits.
        for owner in owners { _ = try await rig.caching(owner).encryptionMaterials(for: request) }
        try await until { rig.provider.gate.waiting == 20 }
        var metrics = await rig.cache.metrics
        #expect(metrics.staleServes == 30 && metrics.refreshes == 20 && metrics.refreshesDeferred == 10 && metrics.misses == 30)
        rig.provider.gate.open()
        await rig.cache.waitForFetches()
        // Slots free: the ten deferred entries refresh on their next request; the twenty are fresh.
        for owner in owners { _ = try await rig.caching(owner).encryptionMaterials(for: request) }
        await rig.cache.waitForFetches()
        metrics = await rig.cache.metrics
        #expect(metrics.refreshes == 30 && metrics.refreshesDeferred == 10 && metrics.hits == 20 && rig.provider.encryptCalls == 60)
    }

    @Test func pastTheHardAgeTheEntryIsNeverServed() async throws {
        let rig = try Rig(limits: .init(softAge: .seconds(120), hardAge: .seconds(120)))
        let materials = rig.caching()
        let request = Self.request(length: 10)
        let first = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        // Use does not extend the age: touched every 30 s, the entry still expires 120 s after creation.
        for _ in 0..<3 {
            rig.clock.advance(by: .seconds(30))
            #expect(try await materials.encryptionMaterials(for: request).encryptedDataKeys == first)
        }
        rig.clock.advance(by: .seconds(30))
        rig.provider.failing.store(true, ordering: .relaxed)
        // KMS is out and the entry is past its hard age: the request fails instead of using the old key.
        await #expect(throws: (any Error).self) { try await materials.encryptionMaterials(for: request) }
        rig.provider.failing.store(false, ordering: .relaxed)
        let next = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        #expect(next != first)
        let metrics = await rig.cache.metrics
        #expect(metrics.hits == 3 && metrics.expirations == 1 && metrics.refreshes == 0 && rig.provider.encryptCalls == 3)
    }

    @Test func aFailedRefreshKeepsServingUntilTheHardAgeAndRetriesAfterTheInterval() async throws {
        let rig = try Rig(limits: .init(softAge: .seconds(60), hardAge: .seconds(120), refreshRetryInterval: .seconds(5)))
        let materials = rig.caching()
        let request = Self.request(length: 10)
        let first = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        rig.provider.failing.store(true, ordering: .relaxed)
        rig.clock.advance(by: .seconds(70))
        #expect(try await materials.encryptionMaterials(for: request).encryptedDataKeys == first)
        await rig.cache.waitForFetches()
        #expect(await rig.cache.metrics.refreshFailures == 1)
        // Within the retry interval: still served, no new refresh.
        rig.clock.advance(by: .seconds(4))
        #expect(try await materials.encryptionMaterials(for: request).encryptedDataKeys == first)
        #expect(await rig.cache.metrics.refreshes == 1)
        rig.clock.advance(by: .seconds(1))
        #expect(try await materials.encryptionMaterials(for: request).encryptedDataKeys == first)
        await rig.cache.waitForFetches()
        #expect(await rig.cache.metrics.refreshes == 2)
        #expect(await rig.cache.metrics.refreshFailures == 2)
        rig.clock.advance(by: .seconds(50))
        await #expect(throws: (any Error).self) { try await materials.encryptionMaterials(for: request) }
    }

    @Test func decryptionEntriesAreKeyedByTheEncryptedDataKeysAndAgeLikeEncryptionOnes() async throws {
        let rig = try Rig(limits: .init(softAge: .seconds(60), hardAge: .seconds(120)))
        let materials = rig.caching()
        let one = try await Envelope().encrypt(Array("one".utf8), context: Self.context, keyring: rig.keyring)
        let two = try await Envelope().encrypt(Array("two".utf8), context: Self.context, keyring: rig.keyring)
        for _ in 0..<3 {
            #expect(try await Envelope().decrypt(one, materials: materials).plaintext == Array("one".utf8))
            #expect(try await Envelope().decrypt(two, materials: materials).plaintext == Array("two".utf8))
        }
        #expect(rig.provider.decryptCalls == 2)
        rig.clock.advance(by: .seconds(61))
        _ = try await Envelope().decrypt(one, materials: materials)
        await rig.cache.waitForFetches()
        #expect(rig.provider.decryptCalls == 3)
        #expect(await rig.cache.metrics.staleServes == 1)
        rig.clock.advance(by: .seconds(200))
        rig.provider.failing.store(true, ordering: .relaxed)
        await #expect(throws: (any Error).self) { try await Envelope().decrypt(two, materials: materials) }
        // A message whose key no keyring has is not cached: each try asks again.
        rig.provider.failing.store(false, ordering: .relaxed)
        let stranger = try await Envelope().encrypt(Array("x".utf8), context: Self.context, keyring: try Rig.rawKeyring(name: "other"))
        for _ in 0..<2 {
            await #expect(throws: EnvelopeError.self) { try await Envelope().decrypt(stranger, materials: materials) }
        }
        #expect(rig.provider.decryptCalls == 6)
    }

    @Test func seededMessagesWrittenThroughTheCacheReadBackWithoutAKeyringCallUntilTheHardAge() async throws {
        let rig = try Rig(limits: .init(softAge: .seconds(60), hardAge: .seconds(120), seedsDecryption: true))
        let materials = rig.caching()
        let message = try await Envelope().encrypt(Array("mine".utf8), context: Self.context, materials: materials)
        rig.clock.advance(by: .seconds(30))
        #expect(try await Envelope().decrypt(message, materials: materials).plaintext == Array("mine".utf8))
        #expect(rig.provider.decryptCalls == 0)
        var metrics = await rig.cache.metrics
        #expect(metrics.seededDecryptions == 1 && metrics.entries == 2 && metrics.hits == 1 && metrics.providerCalls == 1)
        // The seeded entry ages from the data key's creation, not from the read: at 120 s it is gone.
        rig.clock.advance(by: .seconds(90))
        #expect(try await Envelope().decrypt(message, materials: materials).plaintext == Array("mine".utf8))
        #expect(rig.provider.decryptCalls == 1)
        // Another owner's partition never sees it, and a purge drops it with the owner's other entries.
        _ = try await Envelope().decrypt(message, materials: rig.caching(.init(owner: "globex", scope: "generation 1")))
        #expect(rig.provider.decryptCalls == 2)
        let fresh = try await Envelope().encrypt(Array("again".utf8), context: Self.context, materials: materials)
        await rig.cache.purge(owner: "acme")
        _ = try await Envelope().decrypt(fresh, materials: materials)
        #expect(rig.provider.decryptCalls == 3)
        metrics = await rig.cache.metrics
        #expect(metrics.seededDecryptions == 2)

        // Off (the default), the first read of one's own message asks the keyring.
        let plain = try Rig(limits: .init(softAge: .seconds(60), hardAge: .seconds(120)))
        let written = try await Envelope().encrypt(Array("mine".utf8), context: Self.context, materials: plain.caching())
        _ = try await Envelope().decrypt(written, materials: plain.caching())
        let plainMetrics = await plain.cache.metrics
        #expect(plain.provider.decryptCalls == 1 && plainMetrics.seededDecryptions == 0)
    }

    // MARK: Usage limits

    @Test func messageLimitsRefreshAtTheSoftOneAndStopAtTheHardOne() async throws {
        let rig = try Rig(limits: .init(softMessages: 3, maxMessages: 5))
        let materials = rig.caching()
        let request = Self.request(length: 1)
        let first = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        for _ in 2...3 {
            #expect(try await materials.encryptionMaterials(for: request).encryptedDataKeys == first)
        }
        #expect(await rig.cache.metrics.refreshes == 0)
        rig.provider.gate.close()
        // Messages 4 and 5 are past the soft limit: served, one refresh held in flight.
        for _ in 4...5 {
            #expect(try await materials.encryptionMaterials(for: request).encryptedDataKeys == first)
        }
        #expect(await rig.cache.metrics.refreshes == 1 && rig.provider.encryptCalls <= 2)
        // The sixth would exceed the hard limit: it waits for the refresh and gets the new key.
        let sixth = Task { try await materials.encryptionMaterials(for: request).encryptedDataKeys }
        try await until { await rig.cache.metrics.waiting == 1 }
        rig.provider.gate.open()
        let keys = try await sixth.value
        #expect(keys != first)
        #expect(rig.provider.encryptCalls == 2)
    }

    @Test func byteLimitsCountThePlaintextAndALargeMessageBypassesTheCache() async throws {
        let rig = try Rig(limits: .init(softBytes: 100, maxBytes: 200))
        let materials = rig.caching()
        let first = try await materials.encryptionMaterials(for: Self.request(length: 90)).encryptedDataKeys
        // 90 + 90 = 180 bytes: past the soft limit, within the hard one: served, refresh started.
        #expect(try await materials.encryptionMaterials(for: Self.request(length: 90)).encryptedDataKeys == first)
        await rig.cache.waitForFetches()
        #expect(await rig.cache.metrics.refreshes == 1)
        // A message of 200 bytes or more alone would use an entry up: it gets a key of its own.
        let large = try await materials.encryptionMaterials(for: Self.request(length: 200)).encryptedDataKeys
        #expect(large != first)
        let metrics = await rig.cache.metrics
        #expect(metrics.bypasses == 1 && metrics.providerCalls == 3)
    }

    @Test(arguments: ["unknown length", "signed suite"])
    func messagesTheCacheCannotCountOrShareBypassIt(kind: String) async throws {
        let rig = try Rig()
        let materials = rig.caching()
        let suite = kind == "signed suite" ? AlgorithmSuite.aes256GCMHKDFSHA512CommitKeyECDSAP384 : Self.suite
        let request = EncryptionMaterialsRequest(suite: suite, encryptionContext: Self.context, plaintextLength: kind == "unknown length" ? nil : 10)
        let a = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        let b = try await materials.encryptionMaterials(for: request).encryptedDataKeys
        #expect(a != b)
        let metrics = await rig.cache.metrics
        #expect(metrics.bypasses == 2 && metrics.entries == 0 && rig.provider.encryptCalls == 2)
    }

    // MARK: Purge, scope, cap

    @Test func purgeDropsAnOwnersEntriesAndDiscardsItsFetchInFlight() async throws {
        let rig = try Rig()
        let acme = rig.caching()
        let globex = rig.caching(MaterialsCache.Partition(owner: "globex", scope: "generation 1"))
        let request = Self.request(length: 10)
        let acmeFirst = try await acme.encryptionMaterials(for: request).encryptedDataKeys
        let globexFirst = try await globex.encryptionMaterials(for: request).encryptedDataKeys
        #expect(await rig.cache.purge(owner: "acme") == 1)
        #expect(try await acme.encryptionMaterials(for: request).encryptedDataKeys != acmeFirst)
        #expect(try await globex.encryptionMaterials(for: request).encryptedDataKeys == globexFirst)

        // A fetch that started before the purge answers its own caller but is not stored.
        await rig.cache.purge(owner: "acme")
        rig.provider.gate.close()
        let inFlight = Task { try await acme.encryptionMaterials(for: request).encryptedDataKeys }
        try await until { rig.provider.gate.waiting == 1 }
        await rig.cache.purge(owner: "acme")
        rig.provider.gate.open()
        let fetched = try await inFlight.value
        #expect(try await acme.encryptionMaterials(for: request).encryptedDataKeys != fetched)
        let metrics = await rig.cache.metrics
        #expect(metrics.purges == 3 && metrics.purgedEntries == 2)
    }

    @Test func aNewScopePurgesTheOwnersOlderEntries() async throws {
        let rig = try Rig()
        let generationOne = rig.caching(MaterialsCache.Partition(owner: "acme", scope: "generation 1"))
        let generationTwo = rig.caching(MaterialsCache.Partition(owner: "acme", scope: "generation 2"))
        let request = Self.request(length: 10)
        let old = try await generationOne.encryptionMaterials(for: request).encryptedDataKeys
        let new = try await generationTwo.encryptionMaterials(for: request).encryptedDataKeys
        #expect(old != new)
        let metrics = await rig.cache.metrics
        #expect(metrics.purges == 1 && metrics.purgedEntries == 1 && metrics.entries == 1)
    }

    @Test func theEntryCapEvictsTheLeastRecentlyUsed() async throws {
        let rig = try Rig(limits: .init(maxEntries: 2))
        let materials = rig.caching()
        func request(_ purpose: String) throws -> EncryptionMaterialsRequest {
            EncryptionMaterialsRequest(suite: Self.suite, encryptionContext: try EncryptionContext([("purpose", purpose)]), plaintextLength: 1)
        }
        _ = try await materials.encryptionMaterials(for: request("a"))
        _ = try await materials.encryptionMaterials(for: request("b"))
        _ = try await materials.encryptionMaterials(for: request("a"))
        _ = try await materials.encryptionMaterials(for: request("c"))
        #expect(await rig.cache.metrics.evictions == 1)
        _ = try await materials.encryptionMaterials(for: request("a"))
        #expect(rig.provider.encryptCalls == 3)
        _ = try await materials.encryptionMaterials(for: request("b"))
        #expect(rig.provider.encryptCalls == 4)
        #expect(await rig.cache.metrics.entries == 2)
    }

    @Test func removeExpiredDropsEntriesPastTheHardAge() async throws {
        let rig = try Rig(limits: .init(softAge: .seconds(10), hardAge: .seconds(20)))
        _ = try await rig.caching().encryptionMaterials(for: Self.request(length: 1))
        rig.clock.advance(by: .seconds(19))
        #expect(await rig.cache.removeExpired() == 0)
        rig.clock.advance(by: .seconds(1))
        #expect(await rig.cache.removeExpired() == 1)
        #expect(await rig.cache.metrics.entries == 0)
    }

    @Test(arguments: [
        MaterialsCache.Limits(softAge: .seconds(10), hardAge: .seconds(5)),
        MaterialsCache.Limits(softAge: .zero),
        MaterialsCache.Limits(softMessages: 10, maxMessages: 5),
        MaterialsCache.Limits(softBytes: 0),
        MaterialsCache.Limits(maxEntries: 0),
        MaterialsCache.Limits(maxRefreshesInFlight: 0),
    ])
    func contradictoryLimitsAreRefused(limits: MaterialsCache.Limits) {
        #expect(throws: EnvelopeError.self) { try MaterialsCache(limits: limits) }
    }

    // MARK: Support

    static func request(length: Int) -> EncryptionMaterialsRequest {
        EncryptionMaterialsRequest(suite: suite, encryptionContext: context, plaintextLength: length)
    }

    /// A cache on a manual clock over a counted raw AES keyring.
    struct Rig {
        let clock = ManualClock()
        let cache: MaterialsCache
        let keyring: RawAESKeyring
        let provider: CountedProvider

        init(limits: MaterialsCache.Limits = MaterialsCache.Limits()) throws {
            cache = try MaterialsCache(limits: limits, clock: clock.continuous)
            keyring = try Self.rawKeyring(name: "root")
            provider = CountedProvider(keyring: keyring)
        }

        func caching(_ partition: MaterialsCache.Partition = MaterialsCacheTests.partition) -> CachingMaterials {
            CachingMaterials(underlying: provider, cache: cache, partition: partition)
        }

        static func rawKeyring(name: String) throws -> RawAESKeyring {
            try RawAESKeyring(namespace: "tests", name: name, wrappingKey: SymmetricKey(size: .bits256))
        }
    }

    /// The keyring's provider, counting its calls; a closed gate holds them, `failing` fails them.
    final class CountedProvider: MaterialsProvider {
        let underlying: KeyringMaterials
        let gate = Gate()
        let failing = Atomic<Bool>(false)
        private let encrypts = Atomic<Int>(0)
        private let decrypts = Atomic<Int>(0)

        init(keyring: some Keyring) {
            underlying = KeyringMaterials(keyring: keyring)
        }

        var encryptCalls: Int { encrypts.load(ordering: .relaxed) }
        var decryptCalls: Int { decrypts.load(ordering: .relaxed) }

        func encryptionMaterials(for request: EncryptionMaterialsRequest) async throws -> EncryptionMaterials {
            encrypts.add(1, ordering: .relaxed)
            await gate.pass()
            if failing.load(ordering: .relaxed) { throw EnvelopeError(.keyringFailure, "the test's KMS is out") }
            return try await underlying.encryptionMaterials(for: request)
        }

        func decryptionMaterials(for request: DecryptionMaterialsRequest) async throws -> DecryptionMaterials {
            decrypts.add(1, ordering: .relaxed)
            await gate.pass()
            if failing.load(ordering: .relaxed) { throw EnvelopeError(.keyringFailure, "the test's KMS is out") }
            return try await underlying.decryptionMaterials(for: request)
        }
    }

    /// Holds callers while closed; counts who waits.
    final class Gate: Sendable {
        private struct State {
            var closed = false
            var waiters: [CheckedContinuation<Void, Never>] = []
        }

        private let state = Mutex(State())

        var waiting: Int { state.withLock { $0.waiters.count } }

        func close() {
            state.withLock { $0.closed = true }
        }

        func open() {
            let waiters = state.withLock { state in
                state.closed = false
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func pass() async {
            await withCheckedContinuation { continuation in
                let proceed = state.withLock { state in
                    guard state.closed else { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if proceed { continuation.resume() }
            }
        }
    }
}

/// Yields until `condition` holds; fails the test after ten seconds instead of hanging.
func until(_ condition: () async -> Bool) async throws {
    // Generous, and the condition is checked once more at the deadline: a suite that keeps the cooperative
    // threads busy can leave this loop unscheduled for seconds (the deadline is for a hang, not for speed).
    let deadline = ContinuousClock.now + .seconds(60)
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            if await condition() { return }
            Issue.record("condition not met within 60 s")
            throw CancellationError()
        }
        await Task.yield()
    }
}
