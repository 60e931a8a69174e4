import CMKEnvelope
import CMKKMS
import CMKTenant
import Crypto
import Foundation
import Testing

/// The generation of a message comes from its header's key ARNs, matched against the tenant's
/// generations; a message no generation claims is reported, never attributed.
@Suite struct GenerationReaderTests {
    struct Keys {
        let kms: LocalKMS
        let provider: String
        let providerAlias = "arn:aws:kms:local:000000000000:alias/cmkctl-provider"
        let first: String
        let firstOtherRegion: String
        let second: String
        let directory: String

        init() async throws {
            directory = NSTemporaryDirectory() + "generation-reader-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            kms = try LocalKMS(path: directory + "/local-kms.json", createIfMissing: true)
            provider = try await kms.createKey(description: "provider", policy: nil, alias: "cmkctl-provider").arn
            first = try await kms.createKey(description: "acme 1", policy: nil, alias: "acme-1").arn
            firstOtherRegion = try await kms.createKey(description: "acme 1 bis", policy: nil, alias: "acme-1-bis").arn
            second = try await kms.createKey(description: "acme 2", policy: nil, alias: "acme-2").arn
        }

        var generations: [KeyGeneration] {
            func generation(_ number: Int, _ arns: [String]) -> KeyGeneration {
                KeyGeneration(tenant: "acme", number: number, keys: arns.map { .init(region: "local", keyARN: $0) },
                              providerManaged: number == 0, createdAt: Date(), cause: Cause(operatorName: "tester"))
            }
            return [generation(2, [second]), generation(0, [providerAlias]), generation(1, [first, firstOtherRegion])]
        }

        func message(_ arns: [String], suite: AlgorithmSuite = .aes256GCMHKDFSHA512CommitKey) async throws -> [UInt8] {
            let keyrings = arns.map { KMSKeyring(client: kms, generatorKeyID: $0) }
            let keyring: any Keyring = keyrings.count == 1 ? keyrings[0] : try MultiKeyring(generator: keyrings[0], children: Array(keyrings.dropFirst()))
            return try await Envelope(configuration: EnvelopeConfiguration(suite: suite)).encrypt(Array("item".utf8), keyring: keyring)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func eachGenerationIsFoundByItsKeysWhateverTheSuite() async throws {
        let keys = try await Keys()
        defer { keys.remove() }
        let reader = GenerationReader(generations: keys.generations, resolvedAliases: [keys.providerAlias: keys.provider])
        for suite in [AlgorithmSuite.aes256GCMHKDFSHA512CommitKey, .aes256GCMHKDFSHA512CommitKeyECDSAP384] {
            #expect(reader.read(message: try await keys.message([keys.provider], suite: suite)) == .generation(0, suite: suite))
            #expect(reader.read(message: try await keys.message([keys.first], suite: suite)) == .generation(1, suite: suite))
            // Either region of a generation identifies it.
            #expect(reader.read(message: try await keys.message([keys.firstOtherRegion], suite: suite)) == .generation(1, suite: suite))
            #expect(reader.read(message: try await keys.message([keys.first, keys.firstOtherRegion], suite: suite)) == .generation(1, suite: suite))
            #expect(reader.read(message: try await keys.message([keys.second], suite: suite)) == .generation(2, suite: suite))
            // Copies under two generations: the newer one counts.
            #expect(reader.read(message: try await keys.message([keys.first, keys.second], suite: suite)) == .generation(2, suite: suite))
        }
    }

    @Test func anUnresolvedAliasOrAForeignKeyIsUnknownNeverGuessed() async throws {
        let keys = try await Keys()
        defer { keys.remove() }
        let suite = AlgorithmSuite.aes256GCMHKDFSHA512CommitKey
        let unresolved = GenerationReader(generations: keys.generations)
        #expect(unresolved.unresolvedAliases == [keys.providerAlias])
        #expect(unresolved.read(message: try await keys.message([keys.provider])) == .unknown(keys: ["aws-kms " + keys.provider], suite: suite))
        #expect(unresolved.read(message: try await keys.message([keys.first])) == .generation(1, suite: suite))

        let stranger = try await keys.kms.createKey(description: "globex", policy: nil, alias: "globex").arn
        let reader = GenerationReader(generations: keys.generations, resolvedAliases: [keys.providerAlias: keys.provider])
        #expect(reader.read(message: try await keys.message([stranger])) == .unknown(keys: ["aws-kms " + stranger], suite: suite))

        let raw = try RawAESKeyring(namespace: "app", name: "local-key", wrappingKey: SymmetricKey(size: .bits256))
        let rawMessage = try await Envelope().encrypt([1, 2, 3], keyring: raw)
        #expect(reader.read(message: rawMessage) == .unknown(keys: ["app local-key"], suite: suite))

        #expect(reader.read(message: [UInt8]()) == .unreadable)
        #expect(reader.read(message: Array("not a message at all".utf8)) == .unreadable)
        let message = try await keys.message([keys.first])
        #expect(reader.read(message: message.prefix(40)) == .unreadable)
    }
}

