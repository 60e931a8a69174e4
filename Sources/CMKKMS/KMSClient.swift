import CMKEnvelope
import Crypto

/// The KMS operations cmkctl uses, implemented by the AWS client (SigV4 over HTTP) and the local
/// file-backed KMS, so that every layer above works the same with either.
///
/// `keyID` is what AWS accepts: a key ARN, a key id, an alias name (`alias/x`) or an alias ARN.
/// Failures are always `KMSError`.
///
/// What KMS encrypts and decrypts here is a data key, so plaintext travels as `SymmetricKey`: one
/// type from the service to the envelope's materials, which never prints its bytes.
public protocol KMSClient: Sendable {
    func generateDataKey(keyID: String, numberOfBytes: Int, context: EncryptionContext) async throws -> GeneratedDataKey
    func encrypt(keyID: String, plaintext: SymmetricKey, context: EncryptionContext) async throws -> KMSCiphertext
    /// `keyID` pins which key must have made the ciphertext (the SDK's strict mode); `nil` lets the
    /// service pick from the blob, as symmetric KMS does.
    func decrypt(ciphertext: [UInt8], context: EncryptionContext, keyID: String?) async throws -> KMSPlaintext
    func reEncrypt(ciphertext: [UInt8], sourceContext: EncryptionContext, destinationKeyID: String, destinationContext: EncryptionContext) async throws -> KMSCiphertext
    func describeKey(keyID: String) async throws -> KeyMetadata
    func getKeyPolicy(keyID: String) async throws -> String

    func createKey(description: String, policy: String?) async throws -> KeyMetadata
    func putKeyPolicy(keyID: String, policy: String) async throws
    func enableKey(keyID: String) async throws
    func disableKey(keyID: String) async throws
    /// Returns when the key will be deleted, as the service reports it (epoch seconds).
    func scheduleKeyDeletion(keyID: String, pendingWindowInDays: Int) async throws -> Double?
    func cancelKeyDeletion(keyID: String) async throws
}

/// A fresh data key: the plaintext for local use, the ciphertext blob to store, and the key ARN
/// that actually wrapped it (which may differ from an alias given).
public struct GeneratedDataKey: Sendable, CustomStringConvertible {
    public let plaintext: SymmetricKey
    public let ciphertextBlob: [UInt8]
    public let keyARN: String

    public init(plaintext: SymmetricKey, ciphertextBlob: [UInt8], keyARN: String) {
        self.plaintext = plaintext
        self.ciphertextBlob = ciphertextBlob
        self.keyARN = keyARN
    }

    /// Never shows the key bytes, so a data key that ends up in a log or test failure stays secret.
    public var description: String { "GeneratedDataKey(\(keyARN), \(plaintext.bitCount / 8) bytes, blob \(ciphertextBlob.count) bytes)" }
}

/// A ciphertext blob and the ARN of the key that made it.
public struct KMSCiphertext: Sendable {
    public let ciphertextBlob: [UInt8]
    public let keyARN: String

    public init(ciphertextBlob: [UInt8], keyARN: String) {
        self.ciphertextBlob = ciphertextBlob
        self.keyARN = keyARN
    }
}

/// A decrypted data key and the ARN of the key that decrypted it.
public struct KMSPlaintext: Sendable, CustomStringConvertible {
    public let plaintext: SymmetricKey
    public let keyARN: String

    public init(plaintext: SymmetricKey, keyARN: String) {
        self.plaintext = plaintext
        self.keyARN = keyARN
    }

    /// Never shows the plaintext.
    public var description: String { "KMSPlaintext(\(keyARN), \(plaintext.bitCount / 8) bytes)" }
}
