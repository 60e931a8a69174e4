import CMKEnvelope
import CMKKMS
import Crypto
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The local KMS behaves like AWS where cmkctl can tell: states, aliases, policy denies, context
/// binding, error classes; and its file stays private.
@Suite struct LocalKMSTests {
    let path = TestSupport.temporaryDirectory() + "/kms/local-kms.json"

    @Test func roundTripBindsTheContext() async throws {
        let kms = try LocalKMS(path: path, createIfMissing: true)
        let key = try await kms.createKey(description: "tenant a", policy: nil, alias: "tenant-a")
        #expect(key.arn.hasPrefix("arn:aws:kms:local:000000000000:key/"))
        let context = TestSupport.context(("tenant", "a"))
        let generated = try await kms.generateDataKey(keyID: "alias/tenant-a", numberOfBytes: 32, context: context)
        #expect(generated.keyARN == key.arn)
        #expect(generated.plaintext.bitCount == 256)
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
        let kms = try LocalKMS(path: path, createIfMissing: true)
        let key = try await kms.createKey(description: "", policy: nil, alias: nil)
        let other = try await kms.createKey(description: "", policy: nil, alias: nil)
        let blob = try await kms.encrypt(keyID: key.arn, plaintext: SymmetricKey(data: [1, 2, 3] as [UInt8]), context: .empty).ciphertextBlob

        let pinnedToOther = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: blob, context: .empty, keyID: other.arn) }
        #expect(pinnedToOther?.code == .invalidCiphertext)

        try await kms.disableKey(keyID: key.arn)
        #expect(try await kms.describeKey(keyID: key.arn).state == .disabled)
        let disabled = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: blob, context: .empty, keyID: nil) }
        #expect(disabled?.code == .disabled)
        try await kms.enableKey(keyID: key.arn)
        #expect(try await kms.decrypt(ciphertext: blob, context: .empty, keyID: nil).plaintext == SymmetricKey(data: [1, 2, 3] as [UInt8]))

        _ = try await kms.scheduleKeyDeletion(keyID: key.arn, pendingWindowInDays: 7)
        let pending = await #expect(throws: KMSError.self) { try await kms.encrypt(keyID: key.arn, plaintext: SymmetricKey(data: [1] as [UInt8]), context: .empty) }
        #expect(pending?.code == .disabled)
        try await kms.cancelKeyDeletion(keyID: key.arn)
        #expect(try await kms.describeKey(keyID: key.arn).state == .disabled)

        let missing = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: "alias/nope") }
        #expect(missing?.code == .misconfigured)
        let badSize = await #expect(throws: KMSError.self) { try await kms.generateDataKey(keyID: other.arn, numberOfBytes: 0, context: .empty) }
        #expect(badSize?.code == .invalidRequest)
    }

    @Test func deletionAfterTheWindowGivesNotFound() async throws {
        let clock = ManualTime(start: Date(timeIntervalSince1970: 1_800_000_000))
        let kms = try LocalKMS(path: path, createIfMissing: true, now: { clock.now })
        let key = try await kms.createKey(description: "", policy: nil, alias: "doomed")
        _ = try await kms.scheduleKeyDeletion(keyID: key.arn, pendingWindowInDays: 7)
        clock.advance(by: 8 * 86_400)
        let gone = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: "alias/doomed") }
        #expect(gone?.code == .notFound)
        // The file remembers the deletion: "deleted here" stays a revocation after a reopen, while a
        // key this file never held is a misconfiguration.
        let reopened = try LocalKMS(path: path, now: { clock.now })
        let byARN = await #expect(throws: KMSError.self) { try await reopened.describeKey(keyID: key.arn) }
        #expect(byARN?.code == .notFound)
        #expect(byARN?.failureClass == .revocation)
        let byAlias = await #expect(throws: KMSError.self) { try await reopened.encrypt(keyID: "doomed", plaintext: SymmetricKey(data: [1] as [UInt8]), context: .empty) }
        #expect(byAlias?.code == .notFound)
    }

    @Test func policyDenyGivesDenied() async throws {
        let kms = try LocalKMS(path: path, createIfMissing: true)
        let key = try await kms.createKey(description: "", policy: nil, alias: nil)
        let blob = try await kms.encrypt(keyID: key.arn, plaintext: SymmetricKey(data: [9] as [UInt8]), context: .empty).ciphertextBlob
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":["kms:Decrypt"],"Resource":"*"}]}"#
        try await kms.putKeyPolicy(keyID: key.arn, policy: policy)
        #expect(try await kms.getKeyPolicy(keyID: key.arn) == policy)
        let denied = await #expect(throws: KMSError.self) { try await kms.decrypt(ciphertext: blob, context: .empty, keyID: nil) }
        #expect(denied?.code == .denied)
        // Encrypt is still allowed: the Deny names Decrypt only.
        _ = try await kms.encrypt(keyID: key.arn, plaintext: SymmetricKey(data: [9] as [UInt8]), context: .empty)
        let malformed = await #expect(throws: KMSError.self) { try await kms.putKeyPolicy(keyID: key.arn, policy: "not json") }
        #expect(malformed?.code == .invalidRequest)
    }

    @Test func fileIsOwnerOnlyAndPersists() async throws {
        let kms = try LocalKMS(path: path, createIfMissing: true)
        let key = try await kms.createKey(description: "", policy: nil, alias: "persisted")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let reopened = try LocalKMS(path: path)
        #expect(try await reopened.describeKey(keyID: "alias/persisted").arn == key.arn)
        let blob = try await kms.encrypt(keyID: key.arn, plaintext: SymmetricKey(data: [7] as [UInt8]), context: .empty).ciphertextBlob
        #expect(try await reopened.decrypt(ciphertext: blob, context: .empty, keyID: key.arn).plaintext == SymmetricKey(data: [7] as [UInt8]))
    }

    @Test func twoHandlesOnOneFileKeepEachOthersKeys() async throws {
        let first = try LocalKMS(path: path, createIfMissing: true)
        let second = try LocalKMS(path: path, createIfMissing: true)  // as a second cmkctl process would
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
        let kms = try LocalKMS(path: path, createIfMissing: true)
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

/// The local KMS file as the operator's configuration: never created by a read, refused when others
/// may open it, and every problem with it a `misconfigured` error that names the file.
@Suite struct LocalKMSFileTests {
    let directory = TestSupport.temporaryDirectory()
    var path: String { directory + "/kms/local-kms.json" }

    @Test func readingNeverCreatesTheFile() throws {
        let error = #expect(throws: KMSError.self) { try LocalKMS(path: path) }
        #expect(error?.code == .misconfigured)
        #expect(error?.failureClass == .misconfiguration)
        #expect(error?.message.contains("there is no local KMS file at \(path)") == true)
        #expect(error?.message.contains("cmkctl kms create-key") == true)
        #expect(!FileManager.default.fileExists(atPath: directory + "/kms"))

        // A relative path is shown as the absolute one that was read.
        let relative = #expect(throws: KMSError.self) { try LocalKMS(path: "no-such-dir-\(UUID().uuidString)/kms.json") }
        #expect(relative?.message.contains(FileManager.default.currentDirectoryPath + "/no-such-dir-") == true)
    }

    @Test func aKeyFromAnotherFileIsAMisconfigurationNamingTheFileRead() async throws {
        let home = try LocalKMS(path: directory + "/a/kms.json", createIfMissing: true)
        let key = try await home.createKey(description: "", policy: nil, alias: "tenant-a")
        let blob = try await home.encrypt(keyID: key.arn, plaintext: SymmetricKey(data: [1] as [UInt8]), context: .empty).ciphertextBlob
        let elsewherePath = directory + "/b/kms.json"
        let elsewhere = try LocalKMS(path: elsewherePath, createIfMissing: true)
        _ = try await elsewhere.createKey(description: "", policy: nil, alias: nil)

        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("describe by ARN", { _ = try await elsewhere.describeKey(keyID: key.arn) }),
            ("describe by alias", { _ = try await elsewhere.describeKey(keyID: "alias/tenant-a") }),
            ("encrypt by bare alias", { _ = try await elsewhere.encrypt(keyID: "tenant-a", plaintext: SymmetricKey(data: [1] as [UInt8]), context: .empty) }),
            ("decrypt its blob", { _ = try await elsewhere.decrypt(ciphertext: blob, context: .empty, keyID: nil) }),
        ]
        for (name, call) in calls {
            let error = await #expect(throws: KMSError.self, "\(name)") { try await call() }
            #expect(error?.code == .misconfigured, "\(name)")
            #expect(error?.message.contains("is not in the local KMS file \(elsewherePath)") == true, "\(name): \(error?.message ?? "")")
        }

        // The probe says so too: the operator's problem, never the customer's revocation.
        let probed = await KeyProbe(client: elsewhere).probe(keyID: key.arn, context: .empty)
        #expect(probed.verdict == .misconfigured)
        #expect(probed.verdict.failureClass == .misconfiguration)
        #expect(probed.verdict.exitCode == 78)
        #expect(probed.steps.first?.detail.contains(elsewherePath) == true)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o606, 0o700])
    func aFileOthersMayOpenIsRefusedWithTheChmodThatFixesIt(mode: Int) async throws {
        _ = try await LocalKMS(path: path, createIfMissing: true).createKey(description: "", policy: nil, alias: "k")
        #expect(chmod(path, mode_t(mode)) == 0)
        if mode & 0o077 == 0 {
            _ = try await LocalKMS(path: path).describeKey(keyID: "k")
            return
        }
        for create in [false, true] {
            let error = #expect(throws: KMSError.self) { try LocalKMS(path: path, createIfMissing: create) }
            #expect(error?.code == .misconfigured)
            #expect(error?.message.contains("chmod 600 \(path)") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("mode \(String(mode, radix: 8))") == true)
        }
        #expect(chmod(path, 0o600) == 0)
        #expect(try await LocalKMS(path: path).describeKey(keyID: "k").state == .enabled)
    }

    @Test func theCreatedFileLockAndDirectoriesAreOwnerOnly() async throws {
        let nested = directory + "/one/two/kms.json"
        _ = try await LocalKMS(path: nested, createIfMissing: true).createKey(description: "", policy: nil, alias: nil)
        func mode(_ p: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode(nested) == 0o600)
        #expect(try mode(nested + ".lock") == 0o600)
        #expect(try mode(directory + "/one") == 0o700)
        #expect(try mode(directory + "/one/two") == 0o700)
    }

    @Test func anUnusableFileIsAMisconfigurationNamingIt() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let directoryInstead = #expect(throws: KMSError.self) { try LocalKMS(path: path) }
        #expect(directoryInstead?.code == .misconfigured)
        #expect(directoryInstead?.message.contains("\(path) is not a regular file") == true)

        let garbage = directory + "/garbage.json"
        #expect(FileManager.default.createFile(atPath: garbage, contents: Data("{not json".utf8), attributes: [.posixPermissions: 0o600]))
        let notJSON = #expect(throws: KMSError.self) { try LocalKMS(path: garbage) }
        #expect(notJSON?.code == .misconfigured)
        #expect(notJSON?.message == "the local KMS file \(garbage) cannot be used: it is not JSON")

        let other = directory + "/other.json"
        #expect(FileManager.default.createFile(atPath: other, contents: Data(#"{"format":"something-else"}"#.utf8), attributes: [.posixPermissions: 0o600]))
        let wrongFormat = #expect(throws: KMSError.self) { try LocalKMS(path: other) }
        #expect(wrongFormat?.message.contains("\(other) cannot be used: it is not in the cmkctl-local-kms/1 format") == true)
    }
}
