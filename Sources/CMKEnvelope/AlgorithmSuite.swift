/// An AWS Encryption SDK algorithm suite: which cipher, key derivation, commitment and signature a
/// message uses, identified on the wire by a two-byte id.
public struct AlgorithmSuite: Sendable, Hashable, CustomStringConvertible {
    public enum KeyDerivation: Sendable, Hashable {
        /// The data key is the AES key (legacy suites 0x0014/0x0046/0x0078).
        case none
        case hkdfSHA256
        case hkdfSHA384
        case hkdfSHA512
    }

    public enum Signature: Sendable, Hashable {
        case none
        case ecdsaP256SHA256
        case ecdsaP384SHA384
    }

    public let id: UInt16
    public let name: String
    /// Message format version this suite writes and reads: 1 or 2.
    public let messageFormatVersion: UInt8
    /// Length in bytes of the data key a keyring produces (the KDF input).
    public let dataKeyLength: Int
    /// Length in bytes of the AES-GCM key the body is encrypted with.
    public let encryptionKeyLength: Int
    public let keyDerivation: KeyDerivation
    public let signature: Signature
    /// Whether the header carries a key commitment (32 bytes of algorithm suite data).
    public let isCommitting: Bool

    public static let ivLength = 12
    public static let tagLength = 16
    public static let messageIDLengthV1 = 16
    public static let messageIDLengthV2 = 32
    public static let commitmentLength = 32

    public var isSigned: Bool { signature != .none }

    public var messageIDLength: Int { messageFormatVersion == 2 ? Self.messageIDLengthV2 : Self.messageIDLengthV1 }

    public var description: String { "\(name) (0x\(hexID))" }

    /// The id as four hex digits, the way the SDKs print it (`0478`).
    public var hexID: String {
        let digits = String(id, radix: 16, uppercase: false)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The default: AES-256-GCM, HKDF-SHA512 key derivation and key commitment, no signature.
    public static let aes256GCMHKDFSHA512CommitKey = AlgorithmSuite(
        id: 0x0478, name: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", messageFormatVersion: 2,
        dataKeyLength: 32, encryptionKeyLength: 32, keyDerivation: .hkdfSHA512, signature: .none, isCommitting: true)
    /// The default plus an ECDSA P-384 signature over the whole message.
    public static let aes256GCMHKDFSHA512CommitKeyECDSAP384 = AlgorithmSuite(
        id: 0x0578, name: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", messageFormatVersion: 2,
        dataKeyLength: 32, encryptionKeyLength: 32, keyDerivation: .hkdfSHA512, signature: .ecdsaP384SHA384, isCommitting: true)

    /// Every suite this implementation reads; the v1 ones only when the commitment policy allows.
    public static let all: [AlgorithmSuite] = [
        aes256GCMHKDFSHA512CommitKey,
        aes256GCMHKDFSHA512CommitKeyECDSAP384,
        legacy(0x0014, "AES_128_GCM_IV12_TAG16_NO_KDF", 16, .none, .none),
        legacy(0x0046, "AES_192_GCM_IV12_TAG16_NO_KDF", 24, .none, .none),
        legacy(0x0078, "AES_256_GCM_IV12_TAG16_NO_KDF", 32, .none, .none),
        legacy(0x0114, "AES_128_GCM_IV12_TAG16_HKDF_SHA256", 16, .hkdfSHA256, .none),
        legacy(0x0146, "AES_192_GCM_IV12_TAG16_HKDF_SHA256", 24, .hkdfSHA256, .none),
        legacy(0x0178, "AES_256_GCM_IV12_TAG16_HKDF_SHA256", 32, .hkdfSHA256, .none),
        legacy(0x0214, "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256", 16, .hkdfSHA256, .ecdsaP256SHA256),
        legacy(0x0346, "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 24, .hkdfSHA384, .ecdsaP384SHA384),
        legacy(0x0378, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 32, .hkdfSHA384, .ecdsaP384SHA384),
    ]

    /// The suite with this wire id, or `nil` when the id is unknown.
    public init?(id: UInt16) {
        guard let suite = Self.all.first(where: { $0.id == id }) else { return nil }
        self = suite
    }

    /// Parses `0478`, `0x0578` or a suite name.
    public init?(parsing text: String) {
        let lowered = text.lowercased()
        let hex = lowered.hasPrefix("0x") ? String(lowered.dropFirst(2)) : lowered
        if let id = UInt16(hex, radix: 16), let suite = AlgorithmSuite(id: id) {
            self = suite
        } else if let suite = Self.all.first(where: { $0.name.lowercased() == lowered }) {
            self = suite
        } else {
            return nil
        }
    }

    private init(id: UInt16, name: String, messageFormatVersion: UInt8, dataKeyLength: Int, encryptionKeyLength: Int,
                 keyDerivation: KeyDerivation, signature: Signature, isCommitting: Bool) {
        self.id = id
        self.name = name
        self.messageFormatVersion = messageFormatVersion
        self.dataKeyLength = dataKeyLength
        self.encryptionKeyLength = encryptionKeyLength
        self.keyDerivation = keyDerivation
        self.signature = signature
        self.isCommitting = isCommitting
    }

    private static func legacy(_ id: UInt16, _ name: String, _ keyLength: Int, _ kdf: KeyDerivation, _ signature: Signature) -> AlgorithmSuite {
        AlgorithmSuite(id: id, name: name, messageFormatVersion: 1, dataKeyLength: keyLength, encryptionKeyLength: keyLength,
                       keyDerivation: kdf, signature: signature, isCommitting: false)
    }
}

/// Which suites may be written and read, as the AWS Encryption SDK's three commitment policies say.
public enum CommitmentPolicy: String, Sendable, CaseIterable {
    /// Write and read only committing suites (the default).
    case requireEncryptRequireDecrypt = "require-encrypt-require-decrypt"
    /// Write committing suites; also read legacy non-committing messages.
    case requireEncryptAllowDecrypt = "require-encrypt-allow-decrypt"
    /// Write legacy non-committing suites only; read both (migration from old SDKs).
    case forbidEncryptAllowDecrypt = "forbid-encrypt-allow-decrypt"

    public func allowsEncrypt(with suite: AlgorithmSuite) -> Bool {
        switch self {
        case .requireEncryptRequireDecrypt, .requireEncryptAllowDecrypt: suite.isCommitting
        case .forbidEncryptAllowDecrypt: !suite.isCommitting
        }
    }

    public func allowsDecrypt(of suite: AlgorithmSuite) -> Bool {
        switch self {
        case .requireEncryptRequireDecrypt: suite.isCommitting
        case .requireEncryptAllowDecrypt, .forbidEncryptAllowDecrypt: true
        }
    }
}
