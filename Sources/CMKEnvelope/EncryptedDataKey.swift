/// One copy of a message's data key, wrapped by one keyring's wrapping key.
///
/// The three fields are raw bytes as the message format stores them. The provider id and info are
/// UTF-8 for every keyring the AWS Encryption SDK defines, but the raw AES keyring's info also carries
/// binary (tag length, IV), so bytes are the honest type.
public struct EncryptedDataKey: Sendable, Hashable {
    public var providerID: [UInt8]
    public var providerInfo: [UInt8]
    public var ciphertext: [UInt8]

    public init(providerID: [UInt8], providerInfo: [UInt8], ciphertext: [UInt8]) {
        self.providerID = providerID
        self.providerInfo = providerInfo
        self.ciphertext = ciphertext
    }

    public init(providerID: String, providerInfo: [UInt8], ciphertext: [UInt8]) {
        self.init(providerID: Array(providerID.utf8), providerInfo: providerInfo, ciphertext: ciphertext)
    }

    /// The provider id as text, for logs and matching; invalid UTF-8 shows as replacement characters.
    public var providerIDString: String { String(decoding: providerID, as: UTF8.self) }
}
