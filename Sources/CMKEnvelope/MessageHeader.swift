/// How a message body is laid out.
public enum ContentType: UInt8, Sendable {
    case nonFramed = 0x01
    case framed = 0x02
}

/// Limits that bound the work an untrusted message can make the parser do.
public struct ParsingLimits: Sendable {
    /// The AWS Encryption SDK's "max encrypted data keys": more copies than this are refused.
    public var maxEncryptedDataKeys: Int
    /// A header larger than this is refused before it is fully read.
    public var maxHeaderBytes: Int
    /// A frame (or non-framed body) larger than this is refused: it would have to be held in
    /// memory before it can be authenticated.
    public var maxFrameBytes: Int

    public init(maxEncryptedDataKeys: Int = 16, maxHeaderBytes: Int = 4 << 20, maxFrameBytes: Int = 256 << 20) {
        self.maxEncryptedDataKeys = maxEncryptedDataKeys
        self.maxHeaderBytes = maxHeaderBytes
        self.maxFrameBytes = maxFrameBytes
    }
}

/// The parsed message header: everything before the header authentication tag.
struct MessageHeader {
    var version: UInt8
    var suite: AlgorithmSuite
    var messageID: [UInt8]
    var encryptionContext: EncryptionContext
    var encryptedDataKeys: [EncryptedDataKey]
    var contentType: ContentType
    var frameLength: UInt32
    /// Key commitment (v2 only).
    var commitment: [UInt8]

    static let v1Type: UInt8 = 0x80

    /// Serializes the header body (without the authentication tag).
    func serialized() throws -> [UInt8] {
        var writer = ByteWriter(capacity: 256)
        writer.write(version)
        if version == 1 { writer.write(Self.v1Type) }
        writer.write(suite.id)
        writer.write(messageID)
        let context = try encryptionContext.serialized()
        writer.write(UInt16(context.count))
        writer.write(context)
        guard encryptedDataKeys.count <= Int(UInt16.max) else {
            throw EnvelopeError(.invalidArgument, "too many encrypted data keys")
        }
        writer.write(UInt16(encryptedDataKeys.count))
        for key in encryptedDataKeys {
            try writer.writeShortLengthPrefixed(key.providerID, what: "key provider id")
            try writer.writeShortLengthPrefixed(key.providerInfo, what: "key provider info")
            try writer.writeShortLengthPrefixed(key.ciphertext, what: "encrypted data key")
        }
        writer.write(contentType.rawValue)
        if version == 1 {
            writer.write(UInt32(0))
            writer.write(UInt8(AlgorithmSuite.ivLength))
        }
        writer.write(frameLength)
        if version == 2 { writer.write(commitment) }
        return writer.bytes
    }

    /// Parses a header body from the front of `reader`, checking every field.
    ///
    /// Throws `NeedMoreBytes` when the bytes end inside the header, `MessageFormatError` when the
    /// header is malformed or breaks a limit.
    static func parse(_ reader: inout ByteReader, limits: ParsingLimits) throws -> MessageHeader {
        let version = try reader.readUInt8()
        guard version == 1 || version == 2 else { throw MessageFormatError("unknown message format version \(version)") }
        if version == 1 {
            guard try reader.readUInt8() == v1Type else { throw MessageFormatError("v1 header type is not 0x80") }
        }
        let suiteID = try reader.readUInt16()
        guard let suite = AlgorithmSuite(id: suiteID) else { throw MessageFormatError("unknown algorithm suite 0x\(String(suiteID, radix: 16))") }
        guard suite.messageFormatVersion == version else {
            throw MessageFormatError("suite \(suite.hexID) does not belong to message format version \(version)")
        }
        let messageID = Array(try reader.readBytes(suite.messageIDLength))
        let context = try EncryptionContext(parsing: reader.readShortLengthPrefixed())

        let keyCount = Int(try reader.readUInt16())
        guard keyCount > 0 else { throw MessageFormatError("header has no encrypted data keys") }
        guard keyCount <= limits.maxEncryptedDataKeys else {
            throw MessageFormatError("header has \(keyCount) encrypted data keys; the limit is \(limits.maxEncryptedDataKeys)")
        }
        var keys: [EncryptedDataKey] = []
        keys.reserveCapacity(keyCount)
        for _ in 0..<keyCount {
            let providerID = Array(try reader.readShortLengthPrefixed())
            let providerInfo = Array(try reader.readShortLengthPrefixed())
            let ciphertext = Array(try reader.readShortLengthPrefixed())
            guard String(validating: providerID, as: UTF8.self) != nil else {
                throw MessageFormatError("key provider id is not UTF-8")
            }
            keys.append(EncryptedDataKey(providerID: providerID, providerInfo: providerInfo, ciphertext: ciphertext))
        }

        guard let contentType = ContentType(rawValue: try reader.readUInt8()) else {
            throw MessageFormatError("unknown content type")
        }
        if version == 1 {
            guard try reader.readUInt32() == 0 else { throw MessageFormatError("v1 reserved field is not zero") }
            guard try reader.readUInt8() == UInt8(AlgorithmSuite.ivLength) else { throw MessageFormatError("v1 IV length is not 12") }
        }
        let frameLength = try reader.readUInt32()
        switch contentType {
        case .nonFramed where frameLength != 0:
            throw MessageFormatError("non-framed message declares a frame length")
        case .framed where frameLength == 0:
            throw MessageFormatError("framed message declares a frame length of 0")
        case .framed where Int(frameLength) > limits.maxFrameBytes:
            throw MessageFormatError("frame length \(frameLength) exceeds the limit \(limits.maxFrameBytes)")
        default:
            break
        }
        let commitment = version == 2 ? Array(try reader.readBytes(AlgorithmSuite.commitmentLength)) : []

        let hasPublicKey = context[EncryptionContext.publicKeyKey] != nil
        if suite.isSigned != hasPublicKey {
            throw MessageFormatError(suite.isSigned ? "signed suite without a public key in its context" : "unsigned suite with a public key in its context")
        }
        return MessageHeader(version: version, suite: suite, messageID: messageID, encryptionContext: context,
                             encryptedDataKeys: keys, contentType: contentType, frameLength: frameLength, commitment: commitment)
    }
}
