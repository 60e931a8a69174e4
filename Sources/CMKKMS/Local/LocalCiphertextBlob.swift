import CMKEnvelope

/// The local KMS's ciphertext blob: which key made it, and an AES-256-GCM box.
///
/// Layout: version `0x01`, key id length (1 byte) and UTF-8 key id, 12-byte nonce, 16-byte tag,
/// then the ciphertext. The key id is in the clear (as in AWS blobs) so Decrypt needs no KeyId; it is
/// also part of the authenticated data, with the serialized encryption context, so swapping either
/// fails as `invalidCiphertext`.
struct LocalCiphertextBlob: Sendable {
    static let version: UInt8 = 1

    let keyID: String
    let nonce: [UInt8]
    let ciphertext: [UInt8]
    let tag: [UInt8]

    init(keyID: String, nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        self.keyID = keyID
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.tag = tag
    }

    init(parsing bytes: [UInt8]) throws {
        let malformed = KMSError(.invalidCiphertext, "the ciphertext blob is malformed", serviceErrorType: "InvalidCiphertextException")
        guard bytes.count >= 2, bytes[0] == Self.version else { throw malformed }
        let idLength = Int(bytes[1])
        let headerEnd = 2 + idLength
        guard bytes.count >= headerEnd + 12 + 16, let id = String(validating: bytes[2..<headerEnd], as: UTF8.self) else { throw malformed }
        keyID = id
        nonce = Array(bytes[headerEnd..<(headerEnd + 12)])
        tag = Array(bytes[(headerEnd + 12)..<(headerEnd + 28)])
        ciphertext = Array(bytes[(headerEnd + 28)...])
    }

    func encoded() -> [UInt8] {
        let id = Array(keyID.utf8)
        return [Self.version, UInt8(id.count)] + id + nonce + tag + ciphertext
    }

    static func additionalData(keyID: String, context: EncryptionContext) throws -> [UInt8] {
        let id = Array(keyID.utf8)
        return Array("cmkctl-local-kms/1".utf8) + [UInt8(id.count)] + id + (try context.serialized())
    }
}
