import CMKEnvelope
import CMKKMS
import CMKWorkflow
import Logging

/// Encrypts and decrypts a tenant's data: what applications call, in-process or through the sidecar.
///
/// Every call reads the tenant from the store and asks its lifecycle first: an unknown tenant is
/// `tenant-unknown`, a suspended or offboarded one `tenant-suspended` (and its cached materials are
/// dropped); a tenant that enrolls or waits for the customer keeps working on its current
/// generation. Encrypt writes under the current generation, wrapping in every region that answers;
/// decrypt accepts a message of any generation the tenant still has. The tenant's pair
/// `{contextKey: identifier}` is always bound into the context by cmkctl (a caller pair with that key
/// is refused), and decrypt requires it before any KMS call, so a message of another tenant fails
/// exactly like a damaged one (`decrypt-failed`) without our KMS authority ever touching it.
///
/// Data keys come through a `MaterialsCache` partitioned by tenant and generation, so most calls
/// make no KMS call; a generation switch or `purge(tenant:)` drops the tenant's entries.
public struct TenantCrypto<Repository: TenantRepository>: Sendable {
    public let repository: Repository
    public let operatorConfiguration: OperatorConfiguration
    public let configuration: TenantCryptoConfiguration
    public let cache: MaterialsCache
    public let monitor: RegionHealthMonitor
    /// The tenants read recently, reused only while a `changeFollower()` runs and vouches for them.
    public let directory: TenantDirectory
    private let kms: TenantKMS
    private let counter = KMSCallCounter()
    private let logger: Logger

    /// - Parameters:
    ///   - clock: the materials cache's clock (tests pass a manual one).
    ///   - feedClock: the change feed's and the tenant snapshots' clock (tests pass the same manual one).
    public init<C: Clock>(repository: Repository, operatorConfiguration: OperatorConfiguration, kms: TenantKMS,
                          configuration: TenantCryptoConfiguration = TenantCryptoConfiguration(), clock: C,
                          feedClock: any WorkflowClock = SystemWorkflowClock(),
                          logger: Logger = Logger(label: "cmk.tenant.crypto")) throws where C.Duration == Duration {
        self.repository = repository
        self.operatorConfiguration = operatorConfiguration
        self.configuration = configuration
        self.kms = kms
        self.cache = try MaterialsCache(limits: configuration.cacheLimits, clock: clock)
        self.monitor = RegionHealthMonitor()
        self.directory = TenantDirectory(maxAge: configuration.snapshotMaxAge, clock: feedClock)
        self.logger = logger
    }

    public init(repository: Repository, operatorConfiguration: OperatorConfiguration, kms: TenantKMS,
                configuration: TenantCryptoConfiguration = TenantCryptoConfiguration(), logger: Logger = Logger(label: "cmk.tenant.crypto")) throws {
        try self.init(repository: repository, operatorConfiguration: operatorConfiguration, kms: kms, configuration: configuration,
                      clock: ContinuousClock(), logger: logger)
    }

    // MARK: Messages in memory

    /// Encrypts `plaintext` for `tenant` under its current generation; `context` holds the caller's
    /// pairs (the tenant's own pair is added).
    public func encrypt(tenant: String, plaintext: some Collection<UInt8>, context: EncryptionContext = .empty) async throws -> TenantCiphertext {
        var encryptor = try await encryptor(tenant: tenant, context: context, plaintextLength: plaintext.count)
        var message = try encryptor.update(plaintext)
        message.append(contentsOf: try encryptor.finish())
        return TenantCiphertext(ciphertext: message, generation: encryptor.generation)
    }

    /// Decrypts a tenant message; every pair of `context` must be in it. A signed message is verified
    /// before any plaintext is returned.
    public func decrypt(tenant: String, ciphertext: some Collection<UInt8>, context: EncryptionContext = .empty) async throws -> TenantPlaintext {
        var decryptor = try await decryptor(tenant: tenant, context: context, signedPlaintextRelease: .afterSignature)
        var plaintext = try await decryptor.update(ciphertext)
        plaintext.append(contentsOf: try decryptor.finish())
        guard let encryptionContext = decryptor.encryptionContext, let generation = decryptor.generation else {
            throw TenantError.decryptFailed
        }
        return TenantPlaintext(plaintext: plaintext, encryptionContext: encryptionContext, generation: generation)
    }

    // MARK: Streams

    /// Starts a message for `tenant` whose plaintext is fed in pieces.
    ///
    /// - Parameter plaintextLength: the total size when known; a message of unknown size gets a data
    ///   key of its own instead of a cached one (it cannot be counted against the cache's byte limits).
    public func encryptor(tenant: String, context: EncryptionContext = .empty, plaintextLength: Int?) async throws -> TenantEncryptor {
        let keys = try await tenantKeys(tenant, for: .encrypt)
        let bound = try bind(context, identifier: keys.identifier)
        let materials = CachingMaterials(underlying: KeyringMaterials(keyring: keyring(keys.current.keys)), cache: cache,
                                         partition: keys.partition)
        do {
            let encryptor = try await MessageEncryptor(materials: materials, encryptionContext: bound, configuration: configuration.envelope,
                                                       plaintextLength: plaintextLength)
            return TenantEncryptor(encryptor: encryptor, generation: keys.current.number)
        } catch let error as EnvelopeError where error.code == .invalidArgument {
            throw TenantError(.invalidInput, error.message)
        }
    }

    /// Starts reading a tenant message fed in pieces; every pair of `context` must be in it.
    public func decryptor(tenant: String, context: EncryptionContext = .empty,
                          signedPlaintextRelease: SignedPlaintextRelease = .afterEachFrame) async throws -> TenantDecryptor {
        let keys = try await tenantKeys(tenant, for: .decrypt)
        let required = try bind(context, identifier: keys.identifier)
        var decryptKeys: [KeyGeneration.RegionalKey] = []
        for key in keys.generations.flatMap(\.keys) where !decryptKeys.contains(key) {
            decryptKeys.append(key)
        }
        let materials = CachingMaterials(underlying: KeyringMaterials(keyring: keyring(decryptKeys)), cache: cache,
                                         partition: keys.partition)
        let decryptor = MessageDecryptor(materials: materials, requiredContext: required, configuration: configuration.envelope,
                                         signedPlaintextRelease: signedPlaintextRelease, logger: logger)
        return TenantDecryptor(decryptor: decryptor, tenant: tenant, generations: keys.generations, logger: logger)
    }

    // MARK: Cache and metrics

    /// Drops every cached data key of `tenant` in this process (a generation switch, a suspension, an
    /// offboarding); returns how many entries went.
    @discardableResult
    public func purge(tenant: String) async -> Int {
        await cache.purge(owner: tenant)
    }

    /// A follower of the store's change feed for this instance: run it (a long-lived process such as
    /// `serve` does) and tenants are read from the store once per change instead of once per call, while
    /// a suspension, rotation or retirement made by any process purges them here within one poll.
    ///
    /// - Parameter processName: when set, the follower records in the store when this process stopped
    ///   serving a suspended tenant (`cmkctl status` shows the revocation bound from it).
    public func changeFollower(pollInterval: Duration = .milliseconds(100), processName: String? = nil) -> TenantChangeFollower<Repository> {
        let cache = self.cache
        return TenantChangeFollower(repository: repository, directory: directory, pollInterval: pollInterval, clock: directory.clock,
                                    logger: logger, processName: processName, forget: { tenant in await cache.purge(owner: tenant) },
                                    forgetAll: { [directory] in
                                        directory.forgetAll()
                                        await cache.purgeAll()
                                    })
    }

    public func metrics() async -> TenantCryptoMetrics {
        TenantCryptoMetrics(cache: await cache.metrics, kmsCalls: counter.count, regions: await monitor.snapshot())
    }

    // MARK: The tenant

    /// What one call needs of the tenant, read in one consistent view of the store.
    struct TenantKeys: Sendable {
        let identifier: String
        let current: KeyGeneration
        /// The generations decrypt accepts, by number.
        let generations: [KeyGeneration]

        /// The cache partition: the tenant, and its generations as they are now, so that a new
        /// generation (or one fewer) never meets materials cached before.
        var partition: MaterialsCache.Partition {
            MaterialsCache.Partition(owner: current.tenant,
                                     scope: "generation \(current.number) of " + generations.map { String($0.number) }.joined(separator: ","))
        }
    }

    /// Reads the tenant and its generations (from the directory when it holds a trusted snapshot), and
    /// asks its lifecycle whether `operation` is allowed.
    func tenantKeys(_ tenant: String, for operation: TenantLifecycle.Operation) async throws -> TenantKeys {
        let snapshot = try await tenantSnapshot(tenant)
        let (found, generations) = (snapshot.record, snapshot.generations)
        guard let record = found else {
            throw TenantError(.tenantUnknown, "tenant \(tenant.escapingControlCharacters) is not registered")
        }
        guard record.lifecycle.allows(operation) else {
            await cache.purge(owner: tenant)
            throw TenantError(.tenantSuspended, "tenant \(tenant.escapingControlCharacters) is \(record.state.rawValue): its data cannot be encrypted or decrypted")
        }
        guard let identifier = record.contextIdentifier else {
            throw TenantError(.tenantUnknown, "tenant \(tenant.escapingControlCharacters) has no encryption-context identifier yet (its enrollment has not assigned one)")
        }
        guard let current = generations.first(where: { $0.number == record.generation }), !current.keys.isEmpty else {
            throw TenantError(.storeFailure, "tenant \(tenant.escapingControlCharacters) has no keys for its current generation \(record.generation)")
        }
        // A retired generation's keys open nothing any more (`generations retire` found nothing under it).
        return TenantKeys(identifier: identifier, current: current, generations: generations.filter { $0.retiredAt == nil || $0.number == current.number })
    }

    private func tenantSnapshot(_ tenant: String) async throws -> TenantDirectory.Snapshot {
        if let held = directory.snapshot(of: tenant) {
            return held
        }
        let ticket = directory.ticket(for: tenant)
        let takenAt = directory.clock.now()
        let repository = self.repository
        let snapshot = try await repository.read { transaction in
            TenantDirectory.Snapshot(record: try await repository.tenant(tenant, in: transaction),
                                     generations: try await repository.generations(of: tenant, in: transaction))
        }
        directory.keep(snapshot, of: tenant, ticket: ticket, takenAt: takenAt)
        return snapshot
    }

    /// The caller's context with the tenant's pair added; a caller pair with the context key is refused,
    /// whatever its value, so the tenant pair always comes from the store.
    func bind(_ context: EncryptionContext, identifier: String) throws -> EncryptionContext {
        let key = operatorConfiguration.contextKey
        guard context[key] == nil else {
            throw TenantError(.invalidInput, "the encryption context key \(DisplayText.quoted(key)) is reserved for the tenant's identifier, which cmkctl adds")
        }
        do {
            return try context.adding(key, identifier)
        } catch let error as EnvelopeError {
            throw TenantError(.invalidInput, error.message)
        }
    }

    private func keyring(_ keys: [KeyGeneration.RegionalKey]) -> TenantKeyring {
        TenantKeyring(keys: keys, kms: kms, configuration: configuration.multiRegion, monitor: monitor, counter: counter)
    }
}

extension TenantError {
    /// The one error every failed tenant decrypt surfaces as, whatever the cause.
    public static let decryptFailed = TenantError(
        .decryptFailed, "the message could not be decrypted for this tenant: it is malformed, was tampered with, or is not this tenant's")
}
