import CMKEnvelope
import Crypto

/// A tenant key set with one root key per region, as a keyring: every region wraps the data key on
/// encrypt, and decrypt asks the healthiest region first and hedges to the next.
///
/// The encrypted data keys are ordinary `aws-kms` ones, so any AWS Encryption SDK can decrypt a
/// message in any region that wrapped it. The data key is generated locally (not by one region's
/// GenerateDataKey), so no single region is on the critical path of an encrypt.
public struct MultiRegionKeyring: Keyring {
    public struct Configuration: Sendable {
        /// Encrypt fails unless at least this many regions wrapped the data key.
        public var minimumRegions: Int
        /// How long encrypt waits for a region before counting it missing.
        public var wrapTimeout: Duration
        /// How long decrypt waits for one region before also asking the next.
        public var hedgeDelay: Duration
        /// Without hedging, decrypt asks the next region only after the previous one failed.
        public var hedging: Bool

        public init(minimumRegions: Int = 1, wrapTimeout: Duration = .seconds(3), hedgeDelay: Duration = .milliseconds(200), hedging: Bool = true) {
            self.minimumRegions = minimumRegions
            self.wrapTimeout = wrapTimeout
            self.hedgeDelay = hedgeDelay
            self.hedging = hedging
        }
    }

    public let keys: [RegionalKey]
    public let configuration: Configuration
    public let monitor: RegionHealthMonitor
    /// Sleeps (wrap deadline, hedge delay) go through this clock; latencies are measured on the
    /// continuous clock because they are facts about the network.
    private let clock: any Clock<Duration>

    /// Called with every encrypt's report, so a caller using the plain `Keyring` interface (the CLI)
    /// still learns which regions are missing from a message.
    private let onReport: (@Sendable (MultiRegionEncryptReport) -> Void)?

    public init(keys: [RegionalKey], configuration: Configuration = Configuration(), monitor: RegionHealthMonitor = RegionHealthMonitor(),
                clock: any Clock<Duration> = ContinuousClock(), onReport: (@Sendable (MultiRegionEncryptReport) -> Void)? = nil) {
        self.keys = keys
        self.configuration = configuration
        self.monitor = monitor
        self.clock = clock
        self.onReport = onReport
    }

    // MARK: encrypt

    public func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials {
        try await wrap(materials).materials
    }

    /// Wraps the data key under every region that answers within `wrapTimeout`, in parallel, and
    /// says which regions are missing.
    public func wrap(_ materials: EncryptionMaterials) async throws -> (materials: EncryptionMaterials, report: MultiRegionEncryptReport) {
        var materials = materials
        if materials.plaintextDataKey == nil {
            try materials.setPlaintextDataKey(SymmetricKey(size: SymmetricKeySize(bitCount: materials.suite.dataKeyLength * 8)))
        }
        let plaintext = materials.plaintextDataKey!
        let context = materials.encryptionContext
        let timeout = configuration.wrapTimeout
        let clock = self.clock

        var outcomes: [Int: Result<KMSCiphertext, KMSError>] = [:]
        await withTaskGroup(of: (Int, Result<KMSCiphertext, KMSError>, Duration).self) { group in
            for (index, key) in keys.enumerated() {
                group.addTask {
                    let start = ContinuousClock.now
                    do {
                        let wrapped = try await Deadline.run(within: timeout, on: clock, what: "KMS in \(key.region)") {
                            try await key.client.encrypt(keyID: key.keyARN, plaintext: plaintext, context: context)
                        }
                        return (index, .success(wrapped), ContinuousClock.now - start)
                    } catch {
                        return (index, .failure(KMSError.wrapping(error, region: key.region)), ContinuousClock.now - start)
                    }
                }
            }
            for await (index, outcome, latency) in group {
                outcomes[index] = outcome
                if case .success = outcome {
                    await monitor.record(region: keys[index].region, latency: latency, succeeded: true)
                } else {
                    await monitor.record(region: keys[index].region, latency: latency, succeeded: false)
                }
            }
        }

        var wrapped: [String] = []
        var missing: [MultiRegionEncryptReport.Missing] = []
        for (index, key) in keys.enumerated() {
            switch outcomes[index] {
            case .success(let ciphertext)?:
                materials.append(EncryptedDataKey(providerID: KMSKeyring.providerID, providerInfo: Array(ciphertext.keyARN.utf8), ciphertext: ciphertext.ciphertextBlob))
                wrapped.append(key.region)
            case .failure(let error)?:
                missing.append(.init(region: key.region, code: error.code, message: error.message))
            case nil:
                missing.append(.init(region: key.region, code: .unreachable, message: "no outcome"))
            }
        }
        let report = MultiRegionEncryptReport(wrappedRegions: wrapped, missingRegions: missing)
        let enough = wrapped.count >= max(1, configuration.minimumRegions)
        await monitor.count { counters in
            counters.encrypts += 1
            counters.lastMissingRegions = missing.map(\.region)
            if !enough { counters.failedEncrypts += 1 } else if !missing.isEmpty { counters.degradedEncrypts += 1 }
        }
        guard enough else {
            // One error for the regions that failed: the most telling of theirs, by failure class.
            let worst = KMSKeyring.mostTelling(missing.map { KMSError($0.code, $0.message) })
            throw KMSError(worst?.code ?? .unreachable, "only \(wrapped.count) of \(keys.count) regions wrapped the data key (minimum \(configuration.minimumRegions)); missing: "
                + missing.map { "\($0.region) (\($0.code))" }.joined(separator: ", "))
        }
        onReport?(report)
        return (materials, report)
    }

    // MARK: decrypt

    public func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials {
        guard materials.plaintextDataKey == nil else { return materials }
        var candidates: [(key: RegionalKey, edk: EncryptedDataKey)] = []
        for edk in encryptedDataKeys where edk.providerIDString == KMSKeyring.providerID {
            let arn = String(decoding: edk.providerInfo, as: UTF8.self)
            if let key = keys.first(where: { $0.keyARN == arn }) { candidates.append((key, edk)) }
        }
        guard !candidates.isEmpty else { return materials }
        let order = await monitor.ranked(candidates.map(\.key.region))
        candidates.sort { (order.firstIndex(of: $0.key.region) ?? 0) < (order.firstIndex(of: $1.key.region) ?? 0) }

        var materials = materials
        let dataKey = try await hedgedUnwrap(candidates, context: materials.encryptionContext, length: materials.suite.dataKeyLength)
        try materials.setPlaintextDataKey(dataKey)
        return materials
    }

    private enum DecryptEvent: Sendable {
        case unwrapped(Int, SymmetricKey, Duration)
        case failed(Int, KMSError, Duration)
        case hedgeDue(generation: Int)
    }

    /// Races the candidates, best first: the next one starts when the hedge delay passes without an
    /// answer or at once when the current one fails; the first success cancels the rest.
    private func hedgedUnwrap(_ candidates: [(key: RegionalKey, edk: EncryptedDataKey)], context: EncryptionContext, length: Int) async throws -> SymmetricKey {
        let clock = self.clock
        let hedgeDelay = configuration.hedgeDelay
        let hedging = configuration.hedging
        let monitor = self.monitor
        await monitor.count { $0.decrypts += 1 }

        return try await withThrowingTaskGroup(of: DecryptEvent.self) { group in
            var next = 0
            var inFlight = 0
            var started: [Int: ContinuousClock.Instant] = [:]
            var failures: [KMSError] = []
            var generation = 0
            var hedged: Set<Int> = []

            func launch(_ index: Int, into group: inout ThrowingTaskGroup<DecryptEvent, Error>) {
                let candidate = candidates[index]
                started[index] = .now
                inFlight += 1
                group.addTask {
                    let start = ContinuousClock.now
                    do {
                        let result = try await candidate.key.client.decrypt(ciphertext: candidate.edk.ciphertext, context: context, keyID: candidate.key.keyARN)
                        guard result.keyARN == candidate.key.keyARN, result.plaintext.bitCount / 8 == length else {
                            return .failed(index, KMSError(.invalidCiphertext, "KMS in \(candidate.key.region) decrypted with another key or returned the wrong length"), ContinuousClock.now - start)
                        }
                        return .unwrapped(index, result.plaintext, ContinuousClock.now - start)
                    } catch {
                        return .failed(index, KMSError.wrapping(error, region: candidate.key.region), ContinuousClock.now - start)
                    }
                }
            }

            func armHedge(into group: inout ThrowingTaskGroup<DecryptEvent, Error>) {
                guard hedging, next < candidates.count else { return }
                generation += 1
                let armed = generation
                group.addTask {
                    try? await clock.sleep(for: hedgeDelay)
                    return .hedgeDue(generation: armed)
                }
            }

            launch(next, into: &group)
            next += 1
            armHedge(into: &group)

            while let event = try await group.next() {
                switch event {
                case .unwrapped(let index, let dataKey, let latency):
                    group.cancelAll()
                    let now = ContinuousClock.now
                    await monitor.record(region: candidates[index].key.region, latency: latency, succeeded: true)
                    // A region still silent after the hedge delay lost to a later one: count it as a
                    // soft failure, so the ranking moves away from regions that hang.
                    for (other, start) in started where other != index && other < index {
                        let elapsed = now - start
                        if elapsed >= hedgeDelay {
                            await monitor.record(region: candidates[other].key.region, latency: elapsed, succeeded: false)
                        }
                    }
                    let wonByHedge = hedged.contains(index)
                    await monitor.count { if wonByHedge { $0.hedgesWon += 1 } }
                    return dataKey
                case .failed(let index, let error, let latency):
                    started[index] = nil
                    inFlight -= 1
                    failures.append(error)
                    await monitor.record(region: candidates[index].key.region, latency: latency, succeeded: false)
                    if next < candidates.count {
                        launch(next, into: &group)
                        next += 1
                        await monitor.count { $0.failovers += 1 }
                        armHedge(into: &group)
                    } else if inFlight == 0 {
                        group.cancelAll()
                        await monitor.count { $0.failedDecrypts += 1 }
                        throw KMSKeyring.mostTelling(failures) ?? KMSError(.unreachable, "no region could decrypt")
                    }
                case .hedgeDue(let armed):
                    guard armed == generation, next < candidates.count else { continue }
                    hedged.insert(next)
                    launch(next, into: &group)
                    next += 1
                    await monitor.count { $0.hedgesStarted += 1 }
                    armHedge(into: &group)
                }
            }
            throw KMSError(.unreachable, "no region answered")
        }
    }
}

extension KMSError {
    /// Any failure of a KMS call as a `KMSError`; other errors (cancellation, transport) count as
    /// `unreachable`.
    static func wrapping(_ error: any Error, region: String) -> KMSError {
        if let kms = error as? KMSError { return kms }
        return KMSError(.unreachable, "KMS in \(region) failed: \(error)")
    }
}
