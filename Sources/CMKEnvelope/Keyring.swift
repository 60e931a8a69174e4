import Crypto

/// Something that wraps a message's data key on encrypt and unwraps one of its copies on decrypt.
///
/// The shape follows the AWS Encryption SDK's keyring interface, so that a keyring written here
/// produces encrypted data keys any AWS Encryption SDK can read. Keyrings are async because most real
/// ones (KMS) call a service.
public protocol Keyring: Sendable {
    /// Adds this keyring's encrypted data key to the materials, generating the data key first when
    /// the materials do not carry one yet.
    func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials

    /// Returns the materials with a plaintext data key when this keyring can unwrap one of
    /// `encryptedDataKeys`; returns them unchanged (no key) when none of the copies is its own.
    ///
    /// Throw only for failures worth reporting (a service refused); a copy that does not belong to
    /// this keyring or fails to unwrap is skipped.
    func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials
}

/// What a keyring reads and fills in while a message is encrypted.
public struct EncryptionMaterials: Sendable {
    public let suite: AlgorithmSuite
    public let encryptionContext: EncryptionContext
    /// The data key; `nil` until the generator keyring has run.
    public private(set) var plaintextDataKey: SymmetricKey?
    public private(set) var encryptedDataKeys: [EncryptedDataKey]

    public init(suite: AlgorithmSuite, encryptionContext: EncryptionContext) {
        self.suite = suite
        self.encryptionContext = encryptionContext
        self.plaintextDataKey = nil
        self.encryptedDataKeys = []
    }

    /// Sets the data key the generator produced; it must have the suite's KDF input length.
    public mutating func setPlaintextDataKey(_ key: SymmetricKey) throws {
        guard plaintextDataKey == nil else {
            throw EnvelopeError(.keyringFailure, "a data key was already generated for these materials")
        }
        guard key.bitCount / 8 == suite.dataKeyLength else {
            throw EnvelopeError(.keyringFailure, "data key has \(key.bitCount / 8) bytes, suite \(suite) needs \(suite.dataKeyLength)")
        }
        plaintextDataKey = key
    }

    public mutating func append(_ encryptedDataKey: EncryptedDataKey) {
        encryptedDataKeys.append(encryptedDataKey)
    }
}

/// What a keyring reads and fills in while a message is decrypted.
public struct DecryptionMaterials: Sendable {
    public let suite: AlgorithmSuite
    public let encryptionContext: EncryptionContext
    public private(set) var plaintextDataKey: SymmetricKey?

    public init(suite: AlgorithmSuite, encryptionContext: EncryptionContext) {
        self.suite = suite
        self.encryptionContext = encryptionContext
        self.plaintextDataKey = nil
    }

    public mutating func setPlaintextDataKey(_ key: SymmetricKey) throws {
        guard plaintextDataKey == nil else {
            throw EnvelopeError(.keyringFailure, "a data key was already unwrapped for these materials")
        }
        guard key.bitCount / 8 == suite.dataKeyLength else {
            throw EnvelopeError(.keyringFailure, "unwrapped data key has the wrong length for suite \(suite)")
        }
        plaintextDataKey = key
    }
}
