import AsyncHTTPClient
import CMKEnvelope
import CMKKMS
import CMKPeers
import Foundation

/// `cmkctl bench kms`: KMS round-trip latency against local moto servers, and what a dead or hanging
/// region costs a multi-region decrypt with and without hedging.
///
/// Every scenario puts the bad region first in the configured order and gives each decrypt a fresh
/// health monitor, so the numbers are the worst case before the ranking has learned anything; one
/// scenario keeps the monitor across decrypts to show the ranking moving away.
public struct KMSBenchmark: Sendable {
    public struct Options: Sendable {
        public var motoExecutable: String
        public var roundTrips: Int
        public var decrypts: Int
        /// Decrypts against a hanging region without hedging each cost the full timeout; keep few.
        public var slowDecrypts: Int
        public var hedgeDelay: Duration
        public var requestTimeout: Duration
        /// The Python with boto3 that measures the same round trips against the same moto; nil skips it.
        public var python: String?
        /// Our round trips and boto3's alternate in this many blocks, so a change in machine load
        /// during the run touches both sides alike.
        public var comparisonBlocks: Int

        public init(motoExecutable: String, roundTrips: Int = 200, decrypts: Int = 20, slowDecrypts: Int = 3,
                    hedgeDelay: Duration = .milliseconds(100), requestTimeout: Duration = .seconds(2),
                    python: String? = nil, comparisonBlocks: Int = 4) {
            self.motoExecutable = motoExecutable
            self.python = python
            self.comparisonBlocks = comparisonBlocks
            self.roundTrips = roundTrips
            self.decrypts = decrypts
            self.slowDecrypts = slowDecrypts
            self.hedgeDelay = hedgeDelay
            self.requestTimeout = requestTimeout
        }
    }

    public struct Scenario: Sendable {
        public let name: String
        public let summary: LatencySummary
        public let failures: Int
    }

    /// Our GenerateDataKey and Decrypt latency against boto3's, same server, key and context.
    public struct Comparison: Sendable {
        public let generateDataKey: LatencySummary
        public let decrypt: LatencySummary
        public let boto3GenerateDataKey: LatencySummary
        public let boto3Decrypt: LatencySummary

        /// Our p50 over boto3's; the target is at most 1.2.
        public var generateDataKeyRatio: Double { boto3GenerateDataKey.p50 > 0 ? generateDataKey.p50 / boto3GenerateDataKey.p50 : 0 }
        public var decryptRatio: Double { boto3Decrypt.p50 > 0 ? decrypt.p50 / boto3Decrypt.p50 : 0 }
        public var generateDataKeyP99Ratio: Double { boto3GenerateDataKey.p99 > 0 ? generateDataKey.p99 / boto3GenerateDataKey.p99 : 0 }
        public var decryptP99Ratio: Double { boto3Decrypt.p99 > 0 ? decrypt.p99 / boto3Decrypt.p99 : 0 }
    }

    public struct Report: Sendable {
        public let scenarios: [Scenario]
        public let comparison: Comparison?
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Report {
        let primary = try await MotoServer.start(executable: options.motoExecutable)
        let secondary: MotoServer
        do { secondary = try await MotoServer.start(executable: options.motoExecutable) } catch { primary.stop(); throw error }
        let silent: SilentListener
        do { silent = try SilentListener() } catch { primary.stop(); secondary.stop(); throw error }
        let http = AWSKMSClient.makeHTTPClient(connectTimeout: .seconds(1))
        defer {
            primary.stop()
            secondary.stop()
            silent.stop()
        }
        do {
            let scenarios = try await measure(primary: primary, secondary: secondary, silent: silent, http: http, progress: progress)
            try await http.shutdown()
            return scenarios
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func measure(primary: MotoServer, secondary: MotoServer, silent: SilentListener, http: HTTPClient,
                         progress: @Sendable (String) -> Void) async throws -> Report {
        let credentials = AWSCredentials(accessKeyID: "AKIDBENCHMARK", secretAccessKey: "bench-secret")
        func client(_ endpoints: [String: String]) -> AWSKMSClient {
            AWSKMSClient(httpClient: http, credentials: credentials,
                         configuration: .init(defaultRegion: "us-east-1", endpoints: endpoints, requestTimeout: options.requestTimeout, retry: .none))
        }
        let healthy = client(["us-east-1": primary.url, "us-west-2": secondary.url])
        let east = try await healthy.createKey(description: "bench", policy: nil, region: "us-east-1").arn
        let west = try await healthy.createKey(description: "bench", policy: nil, region: "us-west-2").arn
        let context = try EncryptionContext([("tenant", "bench")])
        var scenarios: [Scenario] = []

        progress("round trips against moto" + (options.python == nil ? "" : ", ours and boto3's in turn"))
        var generateSamples: [Duration] = []
        var decryptSamples: [Duration] = []
        var botoGenerateSamples: [Duration] = []
        var botoDecryptSamples: [Duration] = []
        // Unmeasured warm-up, as the boto3 side does.
        for _ in 0..<20 {
            let key = try await healthy.generateDataKey(keyID: east, numberOfBytes: 32, context: context)
            _ = try await healthy.decrypt(ciphertext: key.ciphertextBlob, context: context, keyID: east)
        }
        let blocks = options.python == nil ? 1 : max(1, min(options.comparisonBlocks, options.roundTrips))
        for block in 0..<blocks {
            let count = options.roundTrips / blocks + (block < options.roundTrips % blocks ? 1 : 0)
            for _ in 0..<count {
                var start = ContinuousClock.now
                let key = try await healthy.generateDataKey(keyID: east, numberOfBytes: 32, context: context)
                generateSamples.append(ContinuousClock.now - start)
                start = ContinuousClock.now
                _ = try await healthy.decrypt(ciphertext: key.ciphertextBlob, context: context, keyID: east)
                decryptSamples.append(ContinuousClock.now - start)
            }
            if let python = options.python {
                let boto = try Boto3KMSPeer(python: python).roundTrips(endpoint: primary.url, region: "us-east-1", keyARN: east,
                                                                       context: ["tenant": "bench"], count: count)
                botoGenerateSamples += boto.generateDataKey
                botoDecryptSamples += boto.decrypt
            }
        }
        scenarios.append(Scenario(name: "GenerateDataKey", summary: LatencySummary(generateSamples), failures: 0))
        scenarios.append(Scenario(name: "Decrypt", summary: LatencySummary(decryptSamples), failures: 0))
        var comparison: Comparison?
        if options.python != nil {
            scenarios.append(Scenario(name: "GenerateDataKey, boto3", summary: LatencySummary(botoGenerateSamples), failures: 0))
            scenarios.append(Scenario(name: "Decrypt, boto3", summary: LatencySummary(botoDecryptSamples), failures: 0))
            comparison = Comparison(generateDataKey: LatencySummary(generateSamples), decrypt: LatencySummary(decryptSamples),
                                    boto3GenerateDataKey: LatencySummary(botoGenerateSamples), boto3Decrypt: LatencySummary(botoDecryptSamples))
        }

        // One message wrapped in both regions, read back with the bad region first.
        let wrapper = MultiRegionKeyring(keys: [RegionalKey(keyARN: west, client: healthy), RegionalKey(keyARN: east, client: healthy)])
        let suite = AlgorithmSuite.aes256GCMHKDFSHA512CommitKey
        let wrapped = try await wrapper.onEncrypt(EncryptionMaterials(suite: suite, encryptionContext: context))
        let edks = wrapped.encryptedDataKeys

        func decrypts(_ name: String, westEndpoint: String, hedging: Bool, count: Int, sharedMonitor: Bool) async -> Scenario {
            progress(name)
            let kms = client(["us-east-1": primary.url, "us-west-2": westEndpoint])
            let keys = [RegionalKey(keyARN: west, client: kms), RegionalKey(keyARN: east, client: kms)]
            let config = MultiRegionKeyring.Configuration(hedgeDelay: options.hedgeDelay, hedging: hedging)
            let shared = RegionHealthMonitor()
            var samples: [Duration] = []
            var failures = 0
            for _ in 0..<count {
                let keyring = MultiRegionKeyring(keys: keys, configuration: config, monitor: sharedMonitor ? shared : RegionHealthMonitor())
                let start = ContinuousClock.now
                do {
                    let result = try await keyring.onDecrypt(DecryptionMaterials(suite: suite, encryptionContext: context), encryptedDataKeys: edks)
                    if result.plaintextDataKey == nil { failures += 1 }
                } catch {
                    failures += 1
                }
                samples.append(ContinuousClock.now - start)
            }
            return Scenario(name: name, summary: LatencySummary(samples), failures: failures)
        }

        scenarios.append(await decrypts("multi-region decrypt, all healthy", westEndpoint: secondary.url, hedging: true, count: options.decrypts, sharedMonitor: false))
        secondary.stop()
        scenarios.append(await decrypts("dead region first, hedged", westEndpoint: secondary.url, hedging: true, count: options.decrypts, sharedMonitor: false))
        scenarios.append(await decrypts("dead region first, not hedged", westEndpoint: secondary.url, hedging: false, count: options.decrypts, sharedMonitor: false))
        scenarios.append(await decrypts("hanging region first, hedged", westEndpoint: silent.url, hedging: true, count: options.decrypts, sharedMonitor: false))
        scenarios.append(await decrypts("hanging region first, not hedged", westEndpoint: silent.url, hedging: false, count: options.slowDecrypts, sharedMonitor: false))
        scenarios.append(await decrypts("hanging region, hedged, health-ranked", westEndpoint: silent.url, hedging: true, count: options.decrypts, sharedMonitor: true))
        return Report(scenarios: scenarios, comparison: comparison)
    }
}
