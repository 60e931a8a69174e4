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
    }

    public func encrypt(_ plaintext: some Collection<UInt8>, context: EncryptionContext = .empty, keyring: some Keyring) async throws -> [UInt8] {
        var encryptor = try await MessageEncryptor(keyring: keyring, encryptionContext: context, configuration: configuration)
        var message = try encryptor.update(plaintext)
        message.append(contentsOf: try encryptor.finish())
        return message
    }

    /// Decrypts a whole message; signed messages are verified before any plaintext is returned.
    public func decrypt(_ message: some Collection<UInt8>, keyring: some Keyring, requiredContext: EncryptionContext = .empty) async throws -> Decrypted {
        var decryptor = MessageDecryptor(keyring: keyring, requiredContext: requiredContext, configuration: configuration,
                                         signedPlaintextRelease: .afterSignature)
        var plaintext = try await decryptor.update(message)
        plaintext.append(contentsOf: try decryptor.finish())
        return Decrypted(plaintext: plaintext, encryptionContext: decryptor.encryptionContext!, suite: decryptor.suite!)
    }
}
