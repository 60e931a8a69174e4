import CMKEnvelope
import CMKKMS
import Crypto
import Synchronization

/// How many KMS calls tenant encrypt and decrypt made: the figure the materials cache exists to keep
/// near zero (Cryptor: about 2 per 1,000 operations).
final class KMSCallCounter: Sendable {
    private let calls = Atomic<Int>(0)

    var count: Int { calls.load(ordering: .relaxed) }

    func increment() {
        calls.add(1, ordering: .relaxed)
    }
}

/// A KMS client that counts every call it passes on.
struct CountedKMSClient: KMSClient {
    let client: any KMSClient
    let counter: KMSCallCounter

    func generateDataKey(keyID: String, numberOfBytes: Int, context: EncryptionContext) async throws -> GeneratedDataKey {
        counter.increment()
        return try await client.generateDataKey(keyID: keyID, numberOfBytes: numberOfBytes, context: context)
    }

    func encrypt(keyID: String, plaintext: SymmetricKey, context: EncryptionContext) async throws -> KMSCiphertext {
        counter.increment()
        return try await client.encrypt(keyID: keyID, plaintext: plaintext, context: context)
    }

    func decrypt(ciphertext: [UInt8], context: EncryptionContext, keyID: String?) async throws -> KMSPlaintext {
        counter.increment()
        return try await client.decrypt(ciphertext: ciphertext, context: context, keyID: keyID)
    }

    func reEncrypt(ciphertext: [UInt8], sourceContext: EncryptionContext, destinationKeyID: String,
                   destinationContext: EncryptionContext) async throws -> KMSCiphertext {
        counter.increment()
        return try await client.reEncrypt(ciphertext: ciphertext, sourceContext: sourceContext, destinationKeyID: destinationKeyID,
                                          destinationContext: destinationContext)
    }

    func describeKey(keyID: String) async throws -> KeyMetadata {
        counter.increment()
        return try await client.describeKey(keyID: keyID)
    }

    func getKeyPolicy(keyID: String) async throws -> String {
        counter.increment()
        return try await client.getKeyPolicy(keyID: keyID)
    }

    func createKey(description: String, policy: String?) async throws -> KeyMetadata {
        counter.increment()
        return try await client.createKey(description: description, policy: policy)
    }

    func putKeyPolicy(keyID: String, policy: String) async throws {
        counter.increment()
        try await client.putKeyPolicy(keyID: keyID, policy: policy)
    }

    func enableKey(keyID: String) async throws {
        counter.increment()
        try await client.enableKey(keyID: keyID)
    }

    func disableKey(keyID: String) async throws {
        counter.increment()
        try await client.disableKey(keyID: keyID)
    }

    func scheduleKeyDeletion(keyID: String, pendingWindowInDays: Int) async throws -> Double? {
        counter.increment()
        return try await client.scheduleKeyDeletion(keyID: keyID, pendingWindowInDays: pendingWindowInDays)
    }

    func cancelKeyDeletion(keyID: String) async throws {
        counter.increment()
        try await client.cancelKeyDeletion(keyID: keyID)
    }
}
