import AsyncHTTPClient
import CMKEnvelope
import CMKKMS
import Crypto
import CMKTesting
import Foundation
import Testing

/// The AWS client against moto's KMS over HTTP: signatures checked against IAM users, every error
/// class, revocation as the probe sees it.
@Suite(.serialized) struct MotoKMSTests {
    static let allowAll = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
    static let denyDecrypt = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#

    @Test func signaturesAreCheckedAgainstIAMUsers() async throws {
        // Six unauthenticated IAM actions create two users; every later request must be signed by one.
        try await TestSupport.withMoto(initialNoAuthActionCount: 6) { moto in
            try await TestSupport.withHTTPClient { http in
                let iam = IAMQueryClient(http: http, endpoint: moto.url, credentials: TestSupport.anyCredentials)
                let alice = try await iam.createUser("alice", policy: Self.allowAll)
                let bob = try await iam.createUser("bob", policy: Self.denyDecrypt)
                let endpoints = ["us-east-1": moto.url]

                let wrongSecret = AWSCredentials(accessKeyID: alice.accessKeyID, secretAccessKey: alice.secretAccessKey + "x")
                let forged = await #expect(throws: KMSError.self) {
                    try await TestSupport.client(http, credentials: wrongSecret, endpoints: endpoints).createKey(description: "x", policy: nil)
                }
                #expect(forged?.code == .misconfigured)
                let unknownKey = await #expect(throws: KMSError.self) {
                    try await TestSupport.client(http, credentials: TestSupport.anyCredentials, endpoints: endpoints).createKey(description: "x", policy: nil)
                }
                #expect(unknownKey?.code == .misconfigured)

                let aliceKMS = TestSupport.client(http, credentials: alice, endpoints: endpoints)
                let key = try await aliceKMS.createKey(description: "tenant", policy: nil)
                let context = TestSupport.context(("tenant", "t1"))
                // Our own credentials refused: the probe blames our setup, never the key.
                let refused = await KeyProbe(client: TestSupport.client(http, credentials: wrongSecret, endpoints: endpoints)).probe(keyID: key.arn, context: context)
                #expect(refused.verdict == .misconfigured)
                #expect(refused.verdict.failureClass == .misconfiguration)
                #expect(refused.steps.map(\.code) == [.misconfigured])
                let dataKey = try await aliceKMS.generateDataKey(keyID: key.arn, numberOfBytes: 32, context: context)
                #expect(try await aliceKMS.decrypt(ciphertext: dataKey.ciphertextBlob, context: context, keyID: key.arn).plaintext == dataKey.plaintext)

                // IAM Deny on kms:Decrypt for bob: his GenerateDataKey works, his Decrypt is denied.
                let bobKMS = TestSupport.client(http, credentials: bob, endpoints: endpoints)
                _ = try await bobKMS.generateDataKey(keyID: key.arn, numberOfBytes: 32, context: context)
                let denied = await #expect(throws: KMSError.self) {
                    try await bobKMS.decrypt(ciphertext: dataKey.ciphertextBlob, context: context, keyID: key.arn)
                }
                #expect(denied?.code == .denied)
                let probe = await KeyProbe(client: bobKMS).probe(keyID: key.arn, context: context)
                #expect(probe.verdict == .denied)
                #expect(probe.steps.map(\.name) == ["DescribeKey", "GenerateDataKey", "Decrypt"])
            }
        }
    }

    @Test func revocationShowsInTheProbe() async throws {
        try await TestSupport.withMoto { moto in
            try await TestSupport.withHTTPClient { http in
                let kms = TestSupport.client(http, endpoints: ["us-east-1": moto.url])
                let key = try await kms.createKey(description: "tenant", policy: nil)
                let context = TestSupport.context(("tenant", "t1"), ("purpose", "probe"))
                let probe = KeyProbe(client: kms)

                let healthy = await probe.probe(keyID: key.arn, context: context)
                #expect(healthy.verdict == .ok)
                #expect(healthy.steps.count == 4)
                #expect(healthy.steps.allSatisfy { $0.passed && $0.latency != nil })
                #expect(healthy.metadata?.keySpec == "SYMMETRIC_DEFAULT")
                #expect(ProbeReport(results: [healthy]).json["verdict"] == .string("ok"))

                try await kms.disableKey(keyID: key.keyID)  // moto: bare key id only
                let disabled = await probe.probe(keyID: key.arn, context: context)
                #expect(disabled.verdict == .disabled)
                #expect(disabled.metadata?.state == .disabled)
                // moto still serves GenerateDataKey for a disabled key, so the probe's DescribeKey check is
                // what catches it here; the local KMS and the classifier tests cover DisabledException itself.

                try await kms.enableKey(keyID: key.keyID)
                #expect(await probe.probe(keyID: key.arn, context: context).verdict == .ok)

                _ = try await kms.scheduleKeyDeletion(keyID: key.keyID, pendingWindowInDays: 7)
                #expect(try await kms.describeKey(keyID: key.arn).state == .pendingDeletion)
                #expect(await probe.probe(keyID: key.arn, context: context).verdict == .disabled)
                try await kms.cancelKeyDeletion(keyID: key.keyID)

                let unknown = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
                let notFound = await probe.probe(keyID: unknown, context: context)
                #expect(notFound.verdict == .notFound)
                let missing = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: unknown) }
                #expect(missing?.code == .notFound)
            }
        }
    }

    @Test func errorClassesFromMoto() async throws {
        try await TestSupport.withMoto { moto in
            try await TestSupport.withHTTPClient { http in
                let kms = TestSupport.client(http, endpoints: ["us-east-1": moto.url])
                let key = try await kms.createKey(description: "", policy: nil)
                let context = TestSupport.context(("tenant", "t1"))
                let blob = try await kms.encrypt(keyID: key.arn, plaintext: SymmetricKey(data: [1, 2, 3, 4] as [UInt8]), context: context).ciphertextBlob
                #expect(try await kms.decrypt(ciphertext: blob, context: context, keyID: nil).plaintext == SymmetricKey(data: [1, 2, 3, 4] as [UInt8]))

                let wrongContext = await #expect(throws: KMSError.self) {
                    try await kms.decrypt(ciphertext: blob, context: TestSupport.context(("tenant", "t2")), keyID: key.arn)
                }
                #expect(wrongContext?.code == .invalidCiphertext)
                let garbage = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: Array(repeating: 7, count: 8), context: context, keyID: key.arn) }
                #expect(garbage?.code == .invalidCiphertext)
                // A well-formed blob naming a key this account cannot see is a denial (moto, like AWS).
                let foreign = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: Array(repeating: 7, count: 128), context: context, keyID: nil) }
                #expect(foreign?.code == .denied)

                let other = try await kms.createKey(description: "", policy: nil)
                let reencrypted = try await kms.reEncrypt(ciphertext: blob, sourceContext: context, destinationKeyID: other.arn, destinationContext: .empty)
                #expect(reencrypted.keyARN == other.arn)
                #expect(try await kms.decrypt(ciphertext: reencrypted.ciphertextBlob, context: .empty, keyID: other.arn).plaintext == SymmetricKey(data: [1, 2, 3, 4] as [UInt8]))

                let policy = try await kms.getKeyPolicy(keyID: key.arn)
                #expect(policy.contains("Statement"))
                try await kms.putKeyPolicy(keyID: key.arn, policy: MotoKMSTests.allowAll)

                let closed = try LoopbackPort.free()
                let nobody = TestSupport.client(http, endpoints: ["us-east-1": "http://127.0.0.1:\(closed)"])
                let unreachable = await #expect(throws: KMSError.self) { try await nobody.describeKey(keyID: key.arn) }
                #expect(unreachable?.code == .unreachable)
            }
        }
    }

    @Test func keyringAgainstMoto() async throws {
        try await TestSupport.withMoto { moto in
            try await TestSupport.withHTTPClient { http in
                let kms = TestSupport.client(http, endpoints: ["us-east-1": moto.url])
                let key = try await kms.createKey(description: "", policy: nil)
                let suite = AlgorithmSuite.aes256GCMHKDFSHA512CommitKey
                let context = TestSupport.context(("tenant", "t1"))
                let keyring = KMSKeyring(client: kms, generatorKeyID: key.arn)
                let encrypted = try await keyring.onEncrypt(EncryptionMaterials(suite: suite, encryptionContext: context))
                #expect(String(decoding: encrypted.encryptedDataKeys[0].providerInfo, as: UTF8.self) == key.arn)
                let decrypted = try await keyring.onDecrypt(DecryptionMaterials(suite: suite, encryptionContext: context), encryptedDataKeys: encrypted.encryptedDataKeys)
                #expect(decrypted.plaintextDataKey == encrypted.plaintextDataKey)
            }
        }
    }
}
