import CMKEnvelope
import CMKKMS
import CMKTesting
import Testing

/// Hedging and wrap deadlines driven by a manual clock and scripted clients: no sleeping, no
/// servers.
@Suite struct HedgingTests {
    static let suite = AlgorithmSuite.aes256GCMHKDFSHA512CommitKey
    static let first = "arn:aws:kms:us-east-1:111122223333:key/11111111-1111-4111-8111-111111111111"
    static let second = "arn:aws:kms:us-west-2:111122223333:key/22222222-2222-4222-8222-222222222222"
    static let third = "arn:aws:kms:eu-west-1:111122223333:key/33333333-3333-4333-8333-333333333333"

    static func edks(_ arns: [String]) -> [EncryptedDataKey] {
        arns.map { EncryptedDataKey(providerID: "aws-kms", providerInfo: Array($0.utf8), ciphertext: Array($0.utf8)) }
    }

    static func materials() -> DecryptionMaterials {
        DecryptionMaterials(suite: suite, encryptionContext: .empty)
    }

    @Test func hangingFirstRegionIsHedgedAfterTheDelayAndCancelled() async throws {
        let clock = ManualClock()
        let hanging = ScriptedKMS(.hang)
        let healthy = ScriptedKMS(.answer)
        let monitor = RegionHealthMonitor()
        let keyring = MultiRegionKeyring(keys: [RegionalKey(keyARN: Self.first, client: hanging), RegionalKey(keyARN: Self.second, client: healthy)],
                                         configuration: .init(hedgeDelay: .milliseconds(250)), monitor: monitor, clock: clock)
        let decrypt = Task { try await keyring.onDecrypt(Self.materials(), encryptedDataKeys: Self.edks([Self.first, Self.second])) }

        await clock.waitForSleepers(1)
        #expect(healthy.calls == 0)  // not asked before the hedge delay passes
        clock.advance(by: .milliseconds(249))
        #expect(healthy.calls == 0)
        clock.advance(by: .milliseconds(1))
        let result = try await decrypt.value
        #expect(result.plaintextDataKey != nil)
        #expect(hanging.cancelled == 1)

        let counters = await monitor.snapshot().counters
        #expect(counters.hedgesStarted == 1)
        #expect(counters.hedgesWon == 1)
        #expect(counters.failovers == 0)
    }

    @Test func failedRegionFailsOverAtOnce() async throws {
        let clock = ManualClock()
        let monitor = RegionHealthMonitor()
        let keyring = MultiRegionKeyring(keys: [RegionalKey(keyARN: Self.first, client: ScriptedKMS(.fail(.unreachable))),
                                                RegionalKey(keyARN: Self.second, client: ScriptedKMS(.answer))],
                                         configuration: .init(hedgeDelay: .seconds(10)), monitor: monitor, clock: clock)
        // The clock never moves: only an immediate failover can finish this decrypt.
        let result = try await keyring.onDecrypt(Self.materials(), encryptedDataKeys: Self.edks([Self.first, Self.second]))
        #expect(result.plaintextDataKey != nil)
        let snapshot = await monitor.snapshot()
        #expect(snapshot.counters.failovers == 1)
        #expect(snapshot.counters.hedgesStarted == 0)
        #expect(await monitor.ranked(["us-east-1", "us-west-2"]) == ["us-west-2", "us-east-1"])
    }

    @Test func revocationOutranksOtherFailures() async throws {
        let keyring = MultiRegionKeyring(keys: [RegionalKey(keyARN: Self.first, client: ScriptedKMS(.fail(.invalidCiphertext))),
                                                RegionalKey(keyARN: Self.second, client: ScriptedKMS(.fail(.denied))),
                                                RegionalKey(keyARN: Self.third, client: ScriptedKMS(.fail(.unreachable)))],
                                         clock: ManualClock())
        let error = await #expect(throws: KMSError.self) {
            try await keyring.onDecrypt(Self.materials(), encryptedDataKeys: Self.edks([Self.first, Self.second, Self.third]))
        }
        #expect(error?.code == .denied)
    }

    @Test func copiesOfOtherKeysAreIgnored() async throws {
        let client = ScriptedKMS(.answer)
        let keyring = MultiRegionKeyring(keys: [RegionalKey(keyARN: Self.first, client: client)], clock: ManualClock())
        let result = try await keyring.onDecrypt(Self.materials(), encryptedDataKeys: Self.edks([Self.second]))
        #expect(result.plaintextDataKey == nil)
        #expect(client.calls == 0)
    }

    @Test func encryptWaitsOnlyTheWrapTimeoutAndReportsMissingRegions() async throws {
        let clock = ManualClock()
        let hanging = ScriptedKMS(.hang)
        let monitor = RegionHealthMonitor()
        let keyring = MultiRegionKeyring(keys: [RegionalKey(keyARN: Self.first, client: ScriptedKMS(.answer)),
                                                RegionalKey(keyARN: Self.second, client: hanging),
                                                RegionalKey(keyARN: Self.third, client: ScriptedKMS(.fail(.disabled)))],
                                         configuration: .init(minimumRegions: 1, wrapTimeout: .seconds(3)), monitor: monitor, clock: clock)
        let wrap = Task { try await keyring.wrap(EncryptionMaterials(suite: Self.suite, encryptionContext: .empty)) }
        // Once the other two regions are recorded, only the hanging region's deadline is left.
        while await monitor.snapshot().health.count < 2 { await Task.yield() }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(3))
        let (materials, report) = try await wrap.value
        #expect(materials.encryptedDataKeys.count == 1)
        #expect(report.wrappedRegions == ["us-east-1"])
        #expect(report.missingRegions.map(\.region) == ["us-west-2", "eu-west-1"])
        #expect(report.missingRegions.map(\.code) == [.unreachable, .disabled])
        #expect(hanging.cancelled == 1)
        #expect(await monitor.snapshot().counters.degradedEncrypts == 1)
    }

    @Test func encryptBelowTheMinimumFails() async throws {
        let keyring = MultiRegionKeyring(keys: [RegionalKey(keyARN: Self.first, client: ScriptedKMS(.fail(.denied))),
                                                RegionalKey(keyARN: Self.second, client: ScriptedKMS(.answer))],
                                         configuration: .init(minimumRegions: 2), clock: ManualClock())
        let error = await #expect(throws: KMSError.self) { try await keyring.onEncrypt(EncryptionMaterials(suite: Self.suite, encryptionContext: .empty)) }
        #expect(error?.code == .denied)
    }
}
