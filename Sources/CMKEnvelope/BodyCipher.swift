import Crypto

/// Seals and opens the pieces of a message with its derived key: header authentication, frames and
/// the non-framed body. Every piece's IV and AAD are derived from its position, never chosen freely.
struct BodyCipher {
    enum Piece {
        case frame
        case finalFrame
        case singleBlock

        var aadLabel: [UInt8] {
            switch self {
            case .frame: Self.frameLabel
            case .finalFrame: Self.finalFrameLabel
            case .singleBlock: Self.singleBlockLabel
            }
        }

        private static let frameLabel = Array("AWSKMSEncryptionClient Frame".utf8)
        private static let finalFrameLabel = Array("AWSKMSEncryptionClient Final Frame".utf8)
        private static let singleBlockLabel = Array("AWSKMSEncryptionClient Single Block".utf8)
    }

    let key: AESGCMKey
    let messageID: [UInt8]

    init(key: SymmetricKey, messageID: [UInt8]) throws {
        self.key = try AESGCMKey(key)
        self.messageID = messageID
    }

    /// The IV of the frame with this sequence number: the number big-endian in the last 4 of 12 bytes.
    static func iv(sequenceNumber: UInt32) -> [UInt8] {
        var iv = [UInt8](repeating: 0, count: AlgorithmSuite.ivLength)
        iv[8] = UInt8(truncatingIfNeeded: sequenceNumber >> 24)
        iv[9] = UInt8(truncatingIfNeeded: sequenceNumber >> 16)
        iv[10] = UInt8(truncatingIfNeeded: sequenceNumber >> 8)
        iv[11] = UInt8(truncatingIfNeeded: sequenceNumber)
        return iv
    }

    static let headerIV = [UInt8](repeating: 0, count: AlgorithmSuite.ivLength)

    func aad(_ piece: Piece, sequenceNumber: UInt32, contentLength: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: messageID.count + 48)
        writer.write(messageID)
        writer.write(piece.aadLabel)
        writer.write(sequenceNumber)
        writer.write(contentLength)
        return writer.bytes
    }

    /// Encrypts one body piece, appending its ciphertext and then its 16-byte tag to `output`.
    func seal(_ plaintext: UnsafeRawBufferPointer, piece: Piece, sequenceNumber: UInt32, into output: inout [UInt8]) throws {
        let iv = Self.iv(sequenceNumber: sequenceNumber)
        let aad = aad(piece, sequenceNumber: sequenceNumber, contentLength: UInt64(plaintext.count))
        try iv.withUnsafeBytes { iv in
            try aad.withUnsafeBytes { aad in
                try InPlaceAESGCM.seal(plaintext, key: key, iv: iv, aad: aad, into: &output)
            }
        }
    }

    /// Authenticates and decrypts one body piece, appending the plaintext to `output` only if the
    /// tag verifies.
    func open(ciphertext: ArraySlice<UInt8>, tag: ArraySlice<UInt8>, iv: ArraySlice<UInt8>, piece: Piece, sequenceNumber: UInt32,
              into output: inout [UInt8]) throws {
        let aad = aad(piece, sequenceNumber: sequenceNumber, contentLength: UInt64(ciphertext.count))
        try ciphertext.withUnsafeBytes { ciphertext in
            try tag.withUnsafeBytes { tag in
                try iv.withUnsafeBytes { iv in
                    try aad.withUnsafeBytes { aad in
                        try InPlaceAESGCM.open(ciphertext: ciphertext, tag: tag, key: key, iv: iv, aad: aad, into: &output)
                    }
                }
            }
        }
    }

    /// The header authentication tag: AES-GCM over no plaintext with the header (everything before
    /// the tag) as AAD.
    func headerTag(header: [UInt8], iv: [UInt8] = BodyCipher.headerIV) throws -> [UInt8] {
        var tag: [UInt8] = []
        tag.reserveCapacity(AlgorithmSuite.tagLength)
        try header.withUnsafeBytes { aad in
            try iv.withUnsafeBytes { iv in
                try InPlaceAESGCM.seal(UnsafeRawBufferPointer(start: nil, count: 0), key: key, iv: iv, aad: aad, into: &tag)
            }
        }
        return tag
    }

    func verifyHeader(_ header: ArraySlice<UInt8>, iv: ArraySlice<UInt8>, tag: ArraySlice<UInt8>) throws {
        var nothing: [UInt8] = []
        try header.withUnsafeBytes { aad in
            try iv.withUnsafeBytes { iv in
                try tag.withUnsafeBytes { tag in
                    try InPlaceAESGCM.open(ciphertext: UnsafeRawBufferPointer(start: nil, count: 0), tag: tag, key: key, iv: iv,
                                           aad: aad, into: &nothing)
                }
            }
        }
    }
}
