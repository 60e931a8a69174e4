import CMKEnvelope

/// A tenant message being written piece by piece (`TenantCrypto.encryptor`): memory stays at about
/// one frame whatever the size.
public struct TenantEncryptor: Sendable {
    private var encryptor: MessageEncryptor
    /// The key generation the message is written under.
    public let generation: Int

    init(encryptor: MessageEncryptor, generation: Int) {
        self.encryptor = encryptor
        self.generation = generation
    }

    /// Takes more plaintext; returns the message bytes that are ready.
    public mutating func update(_ plaintext: some Collection<UInt8>) throws -> [UInt8] {
        try encryptor.update(plaintext)
    }

    /// Takes more plaintext and appends the message bytes that are ready to `output`.
    public mutating func update(_ plaintext: some Collection<UInt8>, into output: inout [UInt8]) throws {
        try encryptor.update(plaintext, into: &output)
    }

    /// Writes the final frame (and a signed suite's footer); returns the last message bytes.
    public mutating func finish() throws -> [UInt8] {
        try encryptor.finish()
    }
}
