/// Supplies the data key of a message: the seam between the message encryptor and decryptor and the
/// keyrings, where a cache can sit (the AWS Encryption SDK's cryptographic materials manager).
///
/// Two implementations: `KeyringMaterials` asks a keyring every time; `CachingMaterials` serves
/// materials from a `MaterialsCache` and asks the provider under it only on a miss or a refresh.
public protocol MaterialsProvider: Sendable {
    /// A data key and its encrypted copies for one new message.
    func encryptionMaterials(for request: EncryptionMaterialsRequest) async throws -> EncryptionMaterials

    /// The plaintext data key of a message being read; materials without a key when none of the
    /// copies could be unwrapped.
    func decryptionMaterials(for request: DecryptionMaterialsRequest) async throws -> DecryptionMaterials
}

/// What the encryptor asks a provider for: materials for one message of this suite and context.
public struct EncryptionMaterialsRequest: Sendable {
    public let suite: AlgorithmSuite
    /// The context bound to the message and sent to KMS, SDK-reserved pairs included.
    public let encryptionContext: EncryptionContext
    /// The plaintext size when the caller knows it; a cache counts it against its byte limits and
    /// does not serve a message of unknown size from a shared entry.
    public let plaintextLength: Int?

    public init(suite: AlgorithmSuite, encryptionContext: EncryptionContext, plaintextLength: Int?) {
        self.suite = suite
        self.encryptionContext = encryptionContext
        self.plaintextLength = plaintextLength
    }
}

/// What the decryptor asks a provider for: the data key behind these encrypted copies.
public struct DecryptionMaterialsRequest: Sendable {
    public let suite: AlgorithmSuite
    /// The context stored in the message header.
    public let encryptionContext: EncryptionContext
    public let encryptedDataKeys: [EncryptedDataKey]

    public init(suite: AlgorithmSuite, encryptionContext: EncryptionContext, encryptedDataKeys: [EncryptedDataKey]) {
        self.suite = suite
        self.encryptionContext = encryptionContext
        self.encryptedDataKeys = encryptedDataKeys
    }
}

/// The provider without a cache: each request goes to the keyring.
public struct KeyringMaterials: MaterialsProvider {
    public let keyring: any Keyring

    public init(keyring: some Keyring) {
        self.keyring = keyring
    }

    public func encryptionMaterials(for request: EncryptionMaterialsRequest) async throws -> EncryptionMaterials {
        try await keyring.onEncrypt(EncryptionMaterials(suite: request.suite, encryptionContext: request.encryptionContext))
    }

    public func decryptionMaterials(for request: DecryptionMaterialsRequest) async throws -> DecryptionMaterials {
        try await keyring.onDecrypt(DecryptionMaterials(suite: request.suite, encryptionContext: request.encryptionContext),
                                    encryptedDataKeys: request.encryptedDataKeys)
    }
}
