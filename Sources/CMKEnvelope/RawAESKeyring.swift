import COpenSSLCrypto
import Crypto

/// Wraps data keys under a local AES key, in the AWS Encryption SDK's raw AES keyring layout.
///
/// The encrypted data key's provider id is the namespace; its provider info is the key name followed
/// by the tag length in bits (4 bytes), the IV length (4 bytes) and the IV; its ciphertext is the
/// wrapped key followed by the tag. The serialized encryption context is the AAD, so a copy cannot be
/// moved to a message with another context.
public struct RawAESKeyring: Keyring {
    public let namespace: String
    public let name: String
    private let wrappingKey: AESGCMKey

    private static let tagLengthBits: UInt32 = 128
    private static let ivLength: UInt32 = 12

    /// - Parameter wrappingKey: 16, 24 or 32 bytes.
    public init(namespace: String, name: String, wrappingKey: SymmetricKey) throws {
        guard [128, 192, 256].contains(wrappingKey.bitCount) else {
            throw EnvelopeError(.invalidArgument, "raw AES wrapping key must be 16, 24 or 32 bytes, not \(wrappingKey.bitCount / 8)")
        }
        guard !namespace.isEmpty, !name.isEmpty else {
            throw EnvelopeError(.invalidArgument, "raw AES keyring needs a namespace and a name")
        }
        guard namespace != "aws-kms" else {
            throw EnvelopeError(.invalidArgument, "the namespace aws-kms is reserved for KMS keyrings")
        }
        self.namespace = namespace
        self.name = name
        self.wrappingKey = try AESGCMKey(wrappingKey)
    }

    public func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials {
        var materials = materials
        let iv: [UInt8]
        if materials.plaintextDataKey == nil {
            // One request to the random generator for the data key and the IV: each request costs
            // about as much as the key wrap itself.
            var random = try SecureRandom.bytes(materials.suite.dataKeyLength + Int(Self.ivLength))
            defer { random.withUnsafeMutableBytes { cmk_cleanse($0.baseAddress, $0.count) } }
            try materials.setPlaintextDataKey(SymmetricKey(data: random[..<materials.suite.dataKeyLength]))
            iv = Array(random[materials.suite.dataKeyLength...])
        } else {
            iv = try SecureRandom.bytes(Int(Self.ivLength))
        }
        let aad = try materials.encryptionContext.serialized()
        var wrapped: [UInt8] = []
        wrapped.reserveCapacity(materials.suite.dataKeyLength + Int(Self.tagLengthBits / 8))
        try materials.plaintextDataKey!.withUnsafeBytes { dataKey in
            try iv.withUnsafeBytes { iv in
                try aad.withUnsafeBytes { aad in
                    try InPlaceAESGCM.seal(dataKey, key: wrappingKey, iv: iv, aad: aad, into: &wrapped)
                }
            }
        }
        var info = ByteWriter(capacity: name.utf8.count + 20)
        info.write(name.utf8)
        info.write(Self.tagLengthBits)
        info.write(Self.ivLength)
        info.write(iv)
        // The wrapped key is ciphertext followed by tag, the order InPlaceAESGCM writes them in.
        materials.append(EncryptedDataKey(providerID: namespace, providerInfo: info.bytes, ciphertext: wrapped))
        return materials
    }

    public func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials {
        guard materials.plaintextDataKey == nil else { return materials }
        let aad = try materials.encryptionContext.serialized()
        for candidate in encryptedDataKeys {
            guard let dataKey = unwrap(candidate, aad: aad, expectedLength: materials.suite.dataKeyLength) else { continue }
            var materials = materials
            try materials.setPlaintextDataKey(dataKey)
            return materials
        }
        return materials
    }

    /// Unwraps one copy if it is ours and authenticates; nil otherwise.
    private func unwrap(_ candidate: EncryptedDataKey, aad: [UInt8], expectedLength: Int) -> SymmetricKey? {
        guard candidate.providerID.elementsEqual(namespace.utf8) else { return nil }
        let nameBytes = Array(name.utf8)
        var reader = ByteReader(candidate.providerInfo)
        guard let infoName = try? reader.readBytes(nameBytes.count), infoName.elementsEqual(nameBytes),
              (try? reader.readUInt32()) == Self.tagLengthBits,
              (try? reader.readUInt32()) == Self.ivLength,
              let iv = try? reader.readBytes(Int(Self.ivLength)), reader.isAtEnd
        else { return nil }
        let tagLength = Int(Self.tagLengthBits / 8)
        guard candidate.ciphertext.count == expectedLength + tagLength else { return nil }
        let split = candidate.ciphertext.count - tagLength
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(expectedLength)
        defer { plaintext.withUnsafeMutableBytes { cmk_cleanse($0.baseAddress, $0.count) } }
        do {
            try candidate.ciphertext[..<split].withUnsafeBytes { ciphertext in
                try candidate.ciphertext[split...].withUnsafeBytes { tag in
                    try iv.withUnsafeBytes { iv in
                        try aad.withUnsafeBytes { aad in
                            try InPlaceAESGCM.open(ciphertext: ciphertext, tag: tag, key: wrappingKey, iv: iv, aad: aad, into: &plaintext)
                        }
                    }
                }
            }
        } catch {
            return nil
        }
        return SymmetricKey(data: plaintext)
    }
}
