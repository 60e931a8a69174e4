/// One-shot encrypt and decrypt of messages held in memory; streams use `MessageEncryptor` and
/// `MessageDecryptor` directly.
public struct Envelope: Sendable {
    public var configuration: EnvelopeConfiguration

    public init(configuration: EnvelopeConfiguration = EnvelopeConfiguration()) {
        self.configuration = configuration
    }

    /// A decrypted message with the context it carried (including SDK-reserved pairs).
    public struct Decrypted: Sendable {
        public let plaintext: [UInt8]
        public let encryptionContext: EncryptionContext
        public let suite: AlgorithmSuite
        /// The header's encrypted data keys: which wrapping keys protect the message.
        public let encryptedDataKeys: [EncryptedDataKey]
    }

    public func encrypt(_ plaintext: some Collection<UInt8>, context: EncryptionContext = .empty, keyring: some Keyring) async throws -> [UInt8] {
        try await encrypt(plaintext, context: context, materials: KeyringMaterials(keyring: keyring))
    }

    /// Encrypts with data keys from a materials provider (a cache, say); the plaintext's size is
    /// known, so a cache can count it.
    public func encrypt(_ plaintext: some Collection<UInt8>, context: EncryptionContext = .empty, materials: some MaterialsProvider) async throws -> [UInt8] {
        var encryptor = try await MessageEncryptor(materials: materials, encryptionContext: context, configuration: configuration,
                                                   plaintextLength: plaintext.count)
        var message = try encryptor.update(plaintext)
        message.append(contentsOf: try encryptor.finish())
        return message
    }

    /// Decrypts a whole message; signed messages are verified before any plaintext is returned.
    public func decrypt(_ message: some Collection<UInt8>, keyring: some Keyring, requiredContext: EncryptionContext = .empty) async throws -> Decrypted {
        try await decrypt(message, materials: KeyringMaterials(keyring: keyring), requiredContext: requiredContext)
    }

    /// Decrypts a whole message with the data key from a materials provider (a cache, say).
    public func decrypt(_ message: some Collection<UInt8>, materials: some MaterialsProvider,
                        requiredContext: EncryptionContext = .empty) async throws -> Decrypted {
        var decryptor = MessageDecryptor(materials: materials, requiredContext: requiredContext, configuration: configuration,
                                         signedPlaintextRelease: .afterSignature)
        var plaintext = try await decryptor.update(message)
        plaintext.append(contentsOf: try decryptor.finish())
        return Decrypted(plaintext: plaintext, encryptionContext: decryptor.encryptionContext!, suite: decryptor.suite!,
                         encryptedDataKeys: decryptor.encryptedDataKeys!)
    }
}
