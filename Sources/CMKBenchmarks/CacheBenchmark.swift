import AsyncHTTPClient
import CMKEnvelope
import CMKKMS
import CMKPeers
import CMKSQLite
import CMKTenant
import Foundation
import Synchronization

/// `cmkctl bench cache`: a Cryptor-like mix through `TenantCrypto` (many tenants, Zipf-distributed
/// access, mostly decrypts of small records), with the materials cache on a simulated clock so that
/// N operations stand for N / rate seconds of traffic; then encrypt latency while one KMS region
/// hangs, when every refresh of an encryption entry waits for that region.
///
/// Tenants are written straight into a temporary SQLite store through the repository operations
/// (`add`, `recordGeneration`), all on a few shared keys: what the cache keeps apart is the tenant's
/// partition, not the key. Each tenant starts with one record written before the run by another
/// process's cache (so its first read misses); encrypts add records, decrypts read one of the
/// tenant's latest `recordsPerTenant`.
public struct CacheBenchmark: Sendable {
    public enum KMS: String, Sendable, CaseIterable {
        /// The file-backed local KMS, in-process: KMS calls cost microseconds.
        case local
        /// moto's KMS over HTTP, with the tenants' generations wrapping in two regions.
        case moto
    }

    public struct Options: Sendable {
        public var kms: KMS
        public var motoExecutable: String
        public var tenants: Int
        public var operations: Int
        /// The traffic the operations stand for: each operation moves the cache's clock 1/rate seconds.
        public var opsPerSecond: Double
        public var zipfExponent: Double
        /// The share of operations that decrypt (the rest encrypt a new record).
        public var decryptShare: Double
        public var recordBytes: Int
        public var recordsPerTenant: Int
        public var cacheLimits: MaterialsCache.Limits
        /// Operations in flight at once.
        public var concurrency: Int
        /// Encrypts measured for each latency figure of the hanging-region part; 0 skips it.
        public var hangEncrypts: Int
        public var hangTenants: Int
        /// How long an encrypt (or a refresh) waits for a region before wrapping without it.
        public var wrapTimeout: Duration
        public var seed: UInt64

        public init(kms: KMS = .local, motoExecutable: String = "", tenants: Int = 10_000, operations: Int = 2_000_000,
                    opsPerSecond: Double = 137_000, zipfExponent: Double = 1.0, decryptShare: Double = 0.93, recordBytes: Int = 200,
                    recordsPerTenant: Int = 8, cacheLimits: MaterialsCache.Limits = MaterialsCache.Limits(), concurrency: Int = 4,
                    hangEncrypts: Int = 2_000, hangTenants: Int = 200, wrapTimeout: Duration = .seconds(3), seed: UInt64 = 1) {
            self.kms = kms
            self.motoExecutable = motoExecutable
            self.tenants = tenants
            self.operations = operations
            self.opsPerSecond = opsPerSecond
            self.zipfExponent = zipfExponent
            self.decryptShare = decryptShare
            self.recordBytes = recordBytes
            self.recordsPerTenant = recordsPerTenant
            self.cacheLimits = cacheLimits
            self.concurrency = concurrency
            self.hangEncrypts = hangEncrypts
            self.hangTenants = hangTenants
            self.wrapTimeout = wrapTimeout
            self.seed = seed
        }
    }

    /// KMS calls and cache counters over a stretch of the run.
    public struct Window: Sendable {
        public let operations: Int
        public let encrypts: Int
        public let decrypts: Int
        public let kmsCalls: Int
        public let simulatedSeconds: Double
        public let cache: MaterialsCache.Metrics

        /// The figure Cryptor publishes as about 2.1 (25 M KMS calls for 11.8 G operations a day).
        public var kmsCallsPerThousand: Double { operations > 0 ? Double(kmsCalls) * 1000 / Double(operations) : 0 }
        /// Requests served from the cache (fresh or past a soft limit) among all cached requests.
        public var hitRatio: Double {
            let served = cache.hits + cache.staleServes
            let all = served + cache.misses
            return all > 0 ? Double(served) / Double(all) : 0
        }
    }

    public struct MixResult: Sendable {
        public let whole: Window
        /// From the first hard age on: the cold start (every tenant's first misses) left out.
        public let steady: Window?
        public let wallSeconds: Double
        public let regions: Int

        public var operationsPerWallSecond: Double { wallSeconds > 0 ? Double(whole.operations) / wallSeconds : 0 }
    }

    public struct HangResult: Sendable {
        /// Encrypts while every entry is within its soft age: no refresh due.
        public let fresh: LatencySummary
        /// Encrypts past the soft age with the second region hanging: each tenant's first encrypt
        /// starts a refresh that waits the wrap timeout in the background.
        public let hanging: LatencySummary
        public let refreshesStarted: Int
        public let staleServes: Int
        public let misses: Int
        /// Refreshes that failed once finished (none should: with one region required, a refresh
        /// wraps without the hanging one after the wrap timeout).
        public let refreshFailures: Int
        /// Stale serves that started no refresh because the cap on refreshes in flight was reached.
        public let refreshesDeferred: Int

        /// Hanging p99 over fresh p99: near 1 when no refresh blocks an encrypt.
        public var p99Ratio: Double { fresh.p99 > 0 ? hanging.p99 / fresh.p99 : 0 }
    }

    public struct Report: Sendable {
        public let mix: MixResult
        public let hang: HangResult?
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Report {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cmkctl-bench-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var moto: MotoServer?
        if options.kms == .moto {
            progress("starting moto")
            moto = try await MotoServer.start(executable: options.motoExecutable)
        }
        defer { moto?.stop() }
        let silent = try SilentListener()
        defer { silent.stop() }
        let http = AWSKMSClient.makeHTTPClient(connectTimeout: .seconds(1))
        do {
            let report = try await run(directory: directory, moto: moto, silent: silent, http: http, progress: progress)
            try await http.shutdown()
            return report
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    // MARK: setup

    /// The keys every tenant's generation 1 uses, one per region, and the KMS router that reaches them.
    private struct Keys {
        let kms: TenantKMS
        let generation: [KeyGeneration.RegionalKey]
        /// The same, with a key in a region whose endpoint never answers added last.
        let hangingGeneration: [KeyGeneration.RegionalKey]
        let providerKey: String
    }

    private static let hangingRegion = "us-west-2"

    private func makeKeys(directory: String, moto: MotoServer?, silent: SilentListener, http: HTTPClient) async throws -> Keys {
        let local = try LocalKMS(path: directory + "/local-kms.json", createIfMissing: true)
        var endpoints = [Self.hangingRegion: silent.url]
        if let moto {
            endpoints["us-east-1"] = moto.url
            endpoints["eu-west-1"] = moto.url
        }
        let aws = AWSKMSClient(httpClient: http, credentials: AWSCredentials(accessKeyID: "AKIDBENCHMARK", secretAccessKey: "bench-secret"),
                               configuration: .init(defaultRegion: "us-east-1", endpoints: endpoints, requestTimeout: .seconds(10), retry: .none))
        let kms = TenantKMS(local: { local }, aws: { aws })
        let hanging = KeyGeneration.RegionalKey(region: Self.hangingRegion,
                                                keyARN: "arn:aws:kms:\(Self.hangingRegion):000000000000:key/\(UUID().uuidString.lowercased())")
        if moto != nil {
            let east = try await aws.createKey(description: "bench cache", policy: nil, region: "us-east-1").arn
            let west = try await aws.createKey(description: "bench cache", policy: nil, region: "eu-west-1").arn
            let generation = [KeyGeneration.RegionalKey(region: "us-east-1", keyARN: east), .init(region: "eu-west-1", keyARN: west)]
            return Keys(kms: kms, generation: generation, hangingGeneration: [generation[0], hanging], providerKey: east)
        }
        let key = try await local.createKey(description: "bench cache", policy: nil).arn
        let generation = [KeyGeneration.RegionalKey(region: LocalKMS.defaultRegion, keyARN: key)]
        return Keys(kms: kms, generation: generation, hangingGeneration: generation + [hanging], providerKey: key)
    }

    /// Writes `ids` into the store on generation 0 (the provider's key) and then `keys` as their
    /// generation 1, a few hundred tenants per transaction.
    private static func register(_ ids: [String], keys: [KeyGeneration.RegionalKey], providerKey: String,
                                 repository: SQLiteTenantRepository) async throws {
        let cause = Cause(operatorName: "bench")
        var start = 0
        while start < ids.count {
            let batch = Array(ids[start..<min(start + 500, ids.count)])
            start += batch.count
            try await repository.write { transaction in
                for id in batch {
                    let tag = try ContextTag("t" + String(id.filter { $0.isLetter || $0.isNumber }.suffix(10)))
                    _ = try await repository.add(tenant: id, tag: tag, providerKey: providerKey, candidate: {
                        var generator = SystemRandomNumberGenerator()
                        return ContextIdentifier.generate(tag: tag, using: &generator)
                    }, cause: cause, now: Date(), in: transaction)
                    try await repository.recordGeneration(tenant: id, number: 1, keys: keys, cause: cause, now: Date(), in: transaction)
                }
            }
        }
    }

    private func run(directory: String, moto: MotoServer?, silent: SilentListener, http: HTTPClient,
                     progress: @Sendable (String) -> Void) async throws -> Report {
        let keys = try await makeKeys(directory: directory, moto: moto, silent: silent, http: http)
        let store = try SQLiteStore(path: directory + "/store.sqlite", durability: .normal)
        let repository = store.repository
        let operatorConfiguration = OperatorConfiguration(providerKey: keys.providerKey)

        progress("writing \(options.tenants) tenants into a temporary SQLite store")
        let tenantIDs = (0..<options.tenants).map { "tenant\($0)" }
        try await Self.register(tenantIDs, keys: keys.generation, providerKey: keys.providerKey, repository: repository)

        let mix = try await runMix(tenantIDs: tenantIDs, keys: keys, repository: repository, operatorConfiguration: operatorConfiguration,
                                   progress: progress)
        var hang: HangResult?
        if options.hangEncrypts > 0 {
            let hangIDs = (0..<options.hangTenants).map { "hang\($0)" }
            try await Self.register(hangIDs, keys: keys.hangingGeneration, providerKey: keys.providerKey, repository: repository)
            hang = try await runHang(tenantIDs: hangIDs, keys: keys, repository: repository, operatorConfiguration: operatorConfiguration,
                                     progress: progress)
        }
        await store.close()
        return Report(mix: mix, hang: hang)
    }

    // MARK: the mix

    /// Each tenant's latest records, which decrypts read.
    private final class Records: Sendable {
        private let rings: Mutex<[[[UInt8]]]>
        private let capacity: Int

        init(tenants: Int, capacity: Int) {
            rings = Mutex(Array(repeating: [], count: tenants))
            self.capacity = capacity
        }

        func add(_ record: [UInt8], tenant: Int) {
            rings.withLock { rings in
                if rings[tenant].count >= capacity { rings[tenant].removeFirst() }
                rings[tenant].append(record)
            }
        }

        func pick(tenant: Int, using generator: inout SplitMix64) -> [UInt8]? {
            rings.withLock { rings in
                let ring = rings[tenant]
                return ring.isEmpty ? nil : ring[Int.random(in: 0..<ring.count, using: &generator)]
            }
        }
    }

    private final class Tally: Sendable {
        let next = Atomic<Int>(0)
        let encrypts = Atomic<Int>(0)
        let decrypts = Atomic<Int>(0)
    }

    private func runMix(tenantIDs: [String], keys: Keys, repository: SQLiteTenantRepository, operatorConfiguration: OperatorConfiguration,
                        progress: @Sendable (String) -> Void) async throws -> MixResult {
        let configuration = TenantCryptoConfiguration(cacheLimits: options.cacheLimits,
                                                      multiRegion: .init(minimumRegions: 1, wrapTimeout: options.wrapTimeout))
        let records = Records(tenants: tenantIDs.count, capacity: options.recordsPerTenant)
        let recordBytes = options.recordBytes

        // Records written before the run, by another process: its cache is not this run's.
        progress("writing one record per tenant through a separate cache")
        let writer = try TenantCrypto(repository: repository, operatorConfiguration: operatorConfiguration, kms: keys.kms,
                                      configuration: configuration, clock: SimulatedClock())
        let writeCounter = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, options.concurrency * 2) {
                group.addTask {
                    var generator = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
                    while true {
                        let index = writeCounter.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard index < tenantIDs.count else { return }
                        let plaintext = (0..<recordBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        records.add(try await writer.encrypt(tenant: tenantIDs[index], plaintext: plaintext).ciphertext, tenant: index)
                    }
                }
            }
            try await group.waitForAll()
        }

        let clock = SimulatedClock()
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: operatorConfiguration, kms: keys.kms,
                                      configuration: configuration, clock: clock)
        let zipf = ZipfSampler(count: tenantIDs.count, exponent: options.zipfExponent)
        let tally = Tally()
        let total = options.operations
        let rate = options.opsPerSecond
        let decryptShare = options.decryptShare
        let seed = options.seed

        /// Runs operations `range` on `concurrency` workers; operation i happens at i / rate seconds.
        func operations(_ range: Range<Int>) async throws {
            tally.next.store(range.lowerBound, ordering: .relaxed)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<max(1, options.concurrency) {
                    group.addTask {
                        var generator = SplitMix64(seed: seed &* 0x1000_0000_01B3 &+ UInt64(worker) &+ UInt64(range.lowerBound))
                        while true {
                            let index = tally.next.wrappingAdd(1, ordering: .relaxed).oldValue
                            guard index < range.upperBound else { return }
                            clock.advance(toAtLeast: .nanoseconds(Int64((Double(index) * 1e9 / rate).rounded())))
                            let tenant = zipf.sample(using: &generator)
                            if Double.random(in: 0..<1, using: &generator) < decryptShare,
                               let record = records.pick(tenant: tenant, using: &generator) {
                                _ = try await crypto.decrypt(tenant: tenantIDs[tenant], ciphertext: record)
                                tally.decrypts.add(1, ordering: .relaxed)
                            } else {
                                let plaintext = (0..<recordBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
                                records.add(try await crypto.encrypt(tenant: tenantIDs[tenant], plaintext: plaintext).ciphertext, tenant: tenant)
                                tally.encrypts.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        func window(since start: (metrics: TenantCryptoMetrics, encrypts: Int, decrypts: Int, seconds: Double)?) async -> Window {
            let now = await crypto.metrics()
            let encrypts = tally.encrypts.load(ordering: .relaxed) - (start?.encrypts ?? 0)
            let decrypts = tally.decrypts.load(ordering: .relaxed) - (start?.decrypts ?? 0)
            var cache = now.cache
            if let before = start?.metrics.cache {
                cache.hits -= before.hits
                cache.staleServes -= before.staleServes
                cache.misses -= before.misses
                cache.bypasses -= before.bypasses
                cache.refreshes -= before.refreshes
                cache.refreshFailures -= before.refreshFailures
                cache.providerCalls -= before.providerCalls
                cache.evictions -= before.evictions
                cache.expirations -= before.expirations
                cache.seededDecryptions -= before.seededDecryptions
                cache.refreshesDeferred -= before.refreshesDeferred
            }
            let seconds = clock.elapsed.seconds - (start?.seconds ?? 0)
            return Window(operations: encrypts + decrypts, encrypts: encrypts, decrypts: decrypts,
                          kmsCalls: now.kmsCalls - (start?.metrics.kmsCalls ?? 0), simulatedSeconds: seconds, cache: cache)
        }

        let hardAgeOperations = Int((options.cacheLimits.hardAge.seconds * rate).rounded(.up))
        let started = ContinuousClock.now
        progress("\(total) operations over \(tenantIDs.count) tenants, \(String(format: "%.1f", Double(total) / rate)) simulated seconds")
        var steady: Window?
        if hardAgeOperations < total {
            try await operations(0..<hardAgeOperations)
            await crypto.cache.waitForFetches()
            let mark = (await crypto.metrics(), tally.encrypts.load(ordering: .relaxed), tally.decrypts.load(ordering: .relaxed), clock.elapsed.seconds)
            try await operations(hardAgeOperations..<total)
            await crypto.cache.waitForFetches()
            steady = await window(since: mark)
        } else {
            try await operations(0..<total)
            await crypto.cache.waitForFetches()
        }
        let wall = (ContinuousClock.now - started).seconds
        return MixResult(whole: await window(since: nil), steady: steady, wallSeconds: wall, regions: keys.generation.count)
    }

    // MARK: a hanging region

    private func runHang(tenantIDs: [String], keys: Keys, repository: SQLiteTenantRepository, operatorConfiguration: OperatorConfiguration,
                         progress: @Sendable (String) -> Void) async throws -> HangResult {
        let clock = SimulatedClock()
        let configuration = TenantCryptoConfiguration(cacheLimits: options.cacheLimits,
                                                      multiRegion: .init(minimumRegions: 1, wrapTimeout: options.wrapTimeout))
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: operatorConfiguration, kms: keys.kms,
                                      configuration: configuration, clock: clock)
        let plaintext = [UInt8](repeating: 0x5A, count: options.recordBytes)

        // Every tenant's first encrypt waits the wrap timeout for the hanging region; all at once.
        progress("\(tenantIDs.count) tenants whose second region hangs: first encrypts (each waits \(options.wrapTimeout))")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for tenant in tenantIDs {
                group.addTask { _ = try await crypto.encrypt(tenant: tenant, plaintext: plaintext) }
            }
            try await group.waitForAll()
        }

        let zipf = ZipfSampler(count: tenantIDs.count, exponent: options.zipfExponent)
        var generator = SplitMix64(seed: options.seed)
        func measure(_ count: Int) async throws -> [Duration] {
            var samples: [Duration] = []
            samples.reserveCapacity(count)
            for _ in 0..<count {
                let tenant = tenantIDs[zipf.sample(using: &generator)]
                let start = ContinuousClock.now
                _ = try await crypto.encrypt(tenant: tenant, plaintext: plaintext)
                samples.append(ContinuousClock.now - start)
            }
            return samples
        }

        let limits = options.cacheLimits
        progress("encrypts within the soft age")
        clock.advance(toAtLeast: limits.softAge / 2)
        let fresh = try await measure(options.hangEncrypts)
        let before = await crypto.metrics().cache

        progress("encrypts past the soft age: refreshes wait for the hanging region in the background")
        // Halfway between the soft and the hard age: every entry is due for a refresh and still servable.
        clock.advance(toAtLeast: limits.softAge + (limits.hardAge - limits.softAge) / 2)
        let hanging = try await measure(options.hangEncrypts)
        let during = await crypto.metrics().cache
        await crypto.cache.waitForFetches()
        let after = await crypto.metrics().cache
        return HangResult(fresh: LatencySummary(fresh), hanging: LatencySummary(hanging),
                          refreshesStarted: during.refreshes - before.refreshes, staleServes: during.staleServes - before.staleServes,
                          misses: during.misses - before.misses,
                          refreshFailures: after.refreshFailures - before.refreshFailures,
                          refreshesDeferred: during.refreshesDeferred - before.refreshesDeferred)
    }
}

extension Duration {
    /// Seconds as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
