import CMKEnvelope
import CMKKMS
import Foundation
import Testing

/// The local KMS behaves like AWS where cmkctl can tell: states, aliases, policy denies, context
/// binding, error classes; and its file stays private.
@Suite struct LocalKMSTests {
    let path = TestSupport.temporaryDirectory() + "/kms/local-kms.json"

    @Test func roundTripBindsTheContext() async throws {
        let kms = try LocalKMS(path: path)
        let key = try await kms.createKey(description: "tenant a", policy: nil, alias: "tenant-a")
        #expect(key.arn.hasPrefix("arn:aws:kms:local:000000000000:key/"))
        let context = TestSupport.context(("tenant", "a"))
        let generated = try await kms.generateDataKey(keyID: "alias/tenant-a", numberOfBytes: 32, context: context)
        #expect(generated.keyARN == key.arn)
        #expect(generated.plaintext.count == 32)
        let decrypted = try await kms.decrypt(ciphertext: generated.ciphertextBlob, context: context, keyID: nil)
        #expect(decrypted.plaintext == generated.plaintext)

        let wrong = await #expect(throws: KMSError.self) {
            try await kms.decrypt(ciphertext: generated.ciphertextBlob, context: TestSupport.context(("tenant", "b")), keyID: nil)
        }
        #expect(wrong?.code == .invalidCiphertext)
        var tampered = generated.ciphertextBlob
        tampered[tampered.count - 1] ^= 1
        let bad = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: tampered, context: context, keyID: nil) }
        #expect(bad?.code == .invalidCiphertext)
    }

    @Test func statesAndErrorClasses() async throws {
        let kms = try LocalKMS(path: path)
        let key = try await kms.createKey(description: "", policy: nil, alias: nil)
        let other = try await kms.createKey(description: "", policy: nil, alias: nil)
        let blob = try await kms.encrypt(keyID: key.arn, plaintext: [1, 2, 3], context: .empty).ciphertextBlob

        let pinnedToOther = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: blob, context: .empty, keyID: other.arn) }
        #expect(pinnedToOther?.code == .invalidCiphertext)

        try await kms.disableKey(keyID: key.arn)
        #expect(try await kms.describeKey(keyID: key.arn).state == .disabled)
        let disabled = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: blob, context: .empty, keyID: nil) }
        #expect(disabled?.code == .disabled)
        try await kms.enableKey(keyID: key.arn)
        #expect(try await kms.decrypt(ciphertext: blob, context: .empty, keyID: nil).plaintext == [1, 2, 3])

        _ = try await kms.scheduleKeyDeletion(keyID: key.arn, pendingWindowInDays: 7)
        let pending = await #expect(throws: KMSError.self) { try await kms.encrypt(keyID: key.arn, plaintext: [1], context: .empty) }
        #expect(pending?.code == .disabled)
        try await kms.cancelKeyDeletion(keyID: key.arn)
        #expect(try await kms.describeKey(keyID: key.arn).state == .disabled)

        let missing = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: "alias/nope") }
        #expect(missing?.code == .notFound)
        let badSize = await #expect(throws: KMSError.self) { try await kms.generateDataKey(keyID: other.arn, numberOfBytes: 0, context: .empty) }
        #expect(badSize?.code == .invalidRequest)
    }

    @Test func deletionAfterTheWindowGivesNotFound() async throws {
        let clock = ManualTime(start: Date(timeIntervalSince1970: 1_800_000_000))
        let kms = try LocalKMS(path: path, now: { clock.now })
        let key = try await kms.createKey(description: "", policy: nil, alias: "doomed")
        _ = try await kms.scheduleKeyDeletion(keyID: key.arn, pendingWindowInDays: 7)
        clock.advance(by: 8 * 86_400)
        let gone = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: "alias/doomed") }
        #expect(gone?.code == .notFound)
    }

    @Test func policyDenyGivesDenied() async throws {
        let kms = try LocalKMS(path: path)
        let key = try await kms.createKey(description: "", policy: nil, alias: nil)
        let blob = try await kms.encrypt(keyID: key.arn, plaintext: [9], context: .empty).ciphertextBlob
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":["kms:Decrypt"],"Resource":"*"}]}"#
        try await kms.putKeyPolicy(keyID: key.arn, policy: policy)
        #expect(try await kms.getKeyPolicy(keyID: key.arn) == policy)
        let denied = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: blob, context: .empty, keyID: nil) }
        #expect(denied?.code == .denied)
        // Encrypt is still allowed: the Deny names Decrypt only.
        _ = try await kms.encrypt(keyID: key.arn, plaintext: [9], context: .empty)
        let malformed = await #expect(throws: KMSError.self) { try await kms.putKeyPolicy(keyID: key.arn, policy: "not json") }
        #expect(malformed?.code == .invalidRequest)
    }

    @Test func fileIsOwnerOnlyAndPersists() async throws {
        let kms = try LocalKMS(path: path)
        let key = try await kms.createKey(description: "", policy: nil, alias: "persisted")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let reopened = try LocalKMS(path: path)
        #expect(try await reopened.describeKey(keyID: "alias/persisted").arn == key.arn)
        let blob = try await kms.encrypt(keyID: key.arn, plaintext: [7], context: .empty).ciphertextBlob
        #expect(try await reopened.decrypt(ciphertext: blob, context: .empty, keyID: key.arn).plaintext == [7])
    }

    @Test func twoHandlesOnOneFileKeepEachOthersKeys() async throws {
        let first = try LocalKMS(path: path)
        let second = try LocalKMS(path: path)  // as a second cmkctl process would
        let a = try await first.createKey(description: "", policy: nil, alias: "a")
        let b = try await second.createKey(description: "", policy: nil, alias: "b")
        let duplicate = await #expect(throws: KMSError.self) { try await second.createKey(description: "", policy: nil, alias: "a") }
        #expect(duplicate?.code == .invalidRequest)
        let reopened = try LocalKMS(path: path)
        #expect(try await reopened.describeKey(keyID: "alias/a").arn == a.arn)
        #expect(try await reopened.describeKey(keyID: "alias/b").arn == b.arn)
        #expect(await reopened.listKeys().count == 2)
    }

    @Test func keyringRoundTripAndStrictMatching() async throws {
        let kms = try LocalKMS(path: path)
        let key = try await kms.createKey(description: "", policy: nil, alias: nil)
        let second = try await kms.createKey(description: "", policy: nil, alias: nil)
        let suite = AlgorithmSuite.aes256GCMHKDFSHA512CommitKey
        let context = TestSupport.context(("tenant", "a"), ("purpose", "test"))
        let keyring = KMSKeyring(client: kms, generatorKeyID: key.arn, additionalKeyIDs: [second.arn])
        let encrypted = try await keyring.onEncrypt(EncryptionMaterials(suite: suite, encryptionContext: context))
        #expect(encrypted.encryptedDataKeys.count == 2)
        #expect(encrypted.encryptedDataKeys.allSatisfy { $0.providerIDString == "aws-kms" })
        #expect(encrypted.encryptedDataKeys.map { String(decoding: $0.providerInfo, as: UTF8.self) } == [key.arn, second.arn])

        let onlySecond = KMSKeyring(client: kms, generatorKeyID: nil, additionalKeyIDs: [second.arn])
        let decrypted = try await onlySecond.onDecrypt(DecryptionMaterials(suite: suite, encryptionContext: context), encryptedDataKeys: encrypted.encryptedDataKeys)
        #expect(decrypted.plaintextDataKey == encrypted.plaintextDataKey)

        // A keyring that holds none of the keys skips every copy.
        let stranger = try await kms.createKey(description: "", policy: nil, alias: nil)
        let skipped = try await KMSKeyring(client: kms, generatorKeyID: stranger.arn).onDecrypt(
            DecryptionMaterials(suite: suite, encryptionContext: context), encryptedDataKeys: encrypted.encryptedDataKeys)
        #expect(skipped.plaintextDataKey == nil)

        // A revoked key surfaces its class, so the caller can suspend the tenant.
        try await kms.disableKey(keyID: second.arn)
        let revoked = await #expect(throws: KMSError.self) {
            try await onlySecond.onDecrypt(DecryptionMaterials(suite: suite, encryptionContext: context), encryptedDataKeys: encrypted.encryptedDataKeys)
        }
        #expect(revoked?.code == .disabled)
    }
}

/// A settable wall clock for the local KMS's deletion window.
final class ManualTime: Sendable {
    private let seconds: Mutex<Double>

    init(start: Date) {
        seconds = Mutex(start.timeIntervalSince1970)
    }

    var now: Date { Date(timeIntervalSince1970: seconds.withLock { $0 }) }

    func advance(by interval: Double) {
        seconds.withLock { $0 += interval }
    }
}

import Synchronization
