import AsyncHTTPClient
import CMKEnvelope
import CMKKMS
import CMKTesting
import Foundation
import Testing

/// Multi-region key sets against one moto server per region: a region dying mid-test, and one that
/// hangs.
@Suite(.serialized) struct MultiRegionTests {
    static let suite = AlgorithmSuite.aes256GCMHKDFSHA512CommitKey
    static let regions = ["us-east-1", "us-west-2", "eu-west-1"]

    @Test func deadRegionMidTest() async throws {
        let servers = try await TestSupport.startMotoServers(3)
        defer { servers.forEach { $0.stop() } }
        try await TestSupport.withHTTPClient { http in
            let endpoints = Dictionary(uniqueKeysWithValues: zip(Self.regions, servers.map(\.url)))
            let kms = TestSupport.client(http, endpoints: endpoints, timeout: .seconds(3))
            var keys: [RegionalKey] = []
            for region in Self.regions {
                keys.append(RegionalKey(keyARN: try await kms.createKey(description: "", policy: nil, region: region).arn, client: kms))
            }
            // The region about to die is preferred by configuration, so decrypt must learn to avoid it.
            keys = [keys[2], keys[0], keys[1]]
            let monitor = RegionHealthMonitor()
            let keyring = MultiRegionKeyring(keys: keys, configuration: .init(minimumRegions: 1, wrapTimeout: .seconds(2), hedgeDelay: .milliseconds(300)), monitor: monitor)
            let context = TestSupport.context(("tenant", "multi"))

            let (before, complete) = try await keyring.wrap(EncryptionMaterials(suite: Self.suite, encryptionContext: context))
            #expect(complete.isComplete)
            #expect(before.encryptedDataKeys.count == 3)

            servers[2].stop()  // eu-west-1 goes away

            let (after, degraded) = try await keyring.wrap(EncryptionMaterials(suite: Self.suite, encryptionContext: context))
            #expect(degraded.wrappedRegions.sorted() == ["us-east-1", "us-west-2"])
            #expect(degraded.missingRegions.map(\.region) == ["eu-west-1"])
            #expect(degraded.missingRegions.first?.code == .unreachable)
            #expect(after.encryptedDataKeys.count == 2)

            // Both messages still decrypt: the old one through a surviving region.
            for materials in [before, after] {
                let decrypted = try await keyring.onDecrypt(DecryptionMaterials(suite: Self.suite, encryptionContext: context), encryptedDataKeys: materials.encryptedDataKeys)
                #expect(decrypted.plaintextDataKey == materials.plaintextDataKey)
            }
            #expect(await monitor.ranked(Self.regions.reversed()).last == "eu-west-1")
            let snapshot = await monitor.snapshot()
            #expect(snapshot.counters.degradedEncrypts == 1)
            #expect(snapshot.counters.lastMissingRegions == ["eu-west-1"])
            #expect(snapshot.health["eu-west-1"]!.failures >= 1)

            let strict = MultiRegionKeyring(keys: keys, configuration: .init(minimumRegions: 3, wrapTimeout: .seconds(2)))
            let tooFew = await #expect(throws: KMSError.self) { try await strict.onEncrypt(EncryptionMaterials(suite: Self.suite, encryptionContext: context)) }
            #expect(tooFew?.code == .unreachable)
        }
    }

    @Test func hangingRegionCostsOnlyTheHedgeDelay() async throws {
        try await TestSupport.withMoto { moto in
            let silent = try SilentListener()
            defer { silent.stop() }
            try await TestSupport.withHTTPClient { http in
                let healthy = TestSupport.client(http, endpoints: ["us-east-1": moto.url, "us-west-2": moto.url])
                let east = try await healthy.createKey(description: "", policy: nil, region: "us-east-1").arn
                let west = try await healthy.createKey(description: "", policy: nil, region: "us-west-2").arn
                let context = TestSupport.context(("tenant", "hang"))
                let wrapped = try await MultiRegionKeyring(keys: [RegionalKey(keyARN: west, client: healthy), RegionalKey(keyARN: east, client: healthy)])
                    .onEncrypt(EncryptionMaterials(suite: Self.suite, encryptionContext: context))

                // us-west-2 now hangs: connections complete, answers never come. Timeout 10 s.
                let hanging = TestSupport.client(http, endpoints: ["us-east-1": moto.url, "us-west-2": silent.url], timeout: .seconds(10))
                let keys = [RegionalKey(keyARN: west, client: hanging), RegionalKey(keyARN: east, client: hanging)]
                let monitor = RegionHealthMonitor()
                let hedgeDelay = Duration.milliseconds(200)
                let keyring = MultiRegionKeyring(keys: keys, configuration: .init(wrapTimeout: .milliseconds(500), hedgeDelay: hedgeDelay), monitor: monitor)

                let start = ContinuousClock.now
                let decrypted = try await keyring.onDecrypt(DecryptionMaterials(suite: Self.suite, encryptionContext: context), encryptedDataKeys: wrapped.encryptedDataKeys)
                let elapsed = ContinuousClock.now - start
                #expect(decrypted.plaintextDataKey == wrapped.plaintextDataKey)
                #expect(elapsed >= hedgeDelay)
                #expect(elapsed < hedgeDelay + .milliseconds(1500), "decrypt took \(elapsed) with a hanging region")
                let counters = await monitor.snapshot().counters
                #expect(counters.hedgesStarted == 1)
                #expect(counters.hedgesWon == 1)
                #expect(await monitor.ranked(["us-west-2", "us-east-1"]) == ["us-east-1", "us-west-2"])

                // Encrypt waits at most the wrap timeout for the hanging region and reports it missing.
                let wrapStart = ContinuousClock.now
                let (_, report) = try await keyring.wrap(EncryptionMaterials(suite: Self.suite, encryptionContext: context))
                #expect(ContinuousClock.now - wrapStart < .milliseconds(2000))
                #expect(report.missingRegions.map(\.region) == ["us-west-2"])
            }
        }
    }
}
