/// What a message's header says, read without any key: the suite, the context and which wrapping
/// keys hold copies of the data key.
///
/// Nothing here is authenticated (the header tag needs the data key), so it answers routing
/// questions only: which key generation to ask, whether a message can be rewrapped, how far behind
/// a data source is. A decision that protects data still decrypts.
public struct MessageHeaderSummary: Sendable, Equatable {
    public let formatVersion: UInt8
    public let suite: AlgorithmSuite
    public let encryptionContext: EncryptionContext
    public let encryptedDataKeys: [EncryptedDataKey]
    /// Bytes from the start of the message to the end of the header authentication tag (and IV, v1).
    public let headerLength: Int

    /// Reads the header at the front of `message`; the body is not looked at.
    ///
    /// Throws `EnvelopeError.decryptFailed` when the bytes are not a whole, well-formed header, the
    /// same opaque error as every other read of an untrusted message.
    public init(reading message: some Collection<UInt8>, limits: ParsingLimits = ParsingLimits()) throws {
        let bytes = Array(message.prefix(limits.maxHeaderBytes + AlgorithmSuite.ivLength + AlgorithmSuite.tagLength))
        var reader = ByteReader(bytes)
        do {
            let header = try MessageHeader.parse(&reader, limits: limits)
            _ = try reader.readBytes((header.version == 1 ? AlgorithmSuite.ivLength : 0) + AlgorithmSuite.tagLength)
            formatVersion = header.version
            suite = header.suite
            encryptionContext = header.encryptionContext
            encryptedDataKeys = header.encryptedDataKeys
            headerLength = reader.consumed
        } catch {
            throw EnvelopeError.decryptFailed
        }
    }

    /// True when the message can be rewrapped (0x0478 and any other unsigned v2 suite); a signed or
    /// legacy message must be re-encrypted in full.
    public var isRewrappable: Bool {
        formatVersion == 2 && suite.isCommitting && !suite.isSigned
    }
}
