import COpenSSLCrypto
import Crypto

/// Derives the body key (and the key commitment) from a message's data key, per algorithm suite.
enum KeyDerivation {
    private static let deriveKeyLabel = Array("DERIVEKEY".utf8)
    private static let commitKeyLabel = Array("COMMITKEY".utf8)

    /// The body key and the 32-byte key commitment of a committing suite.
    ///
    /// Both are HKDF-SHA512 with the message id as salt, so they share one extract step; only the
    /// expand steps differ (info `suite id || "DERIVEKEY"` and `"COMMITKEY"`). HKDF runs on the
    /// system libcrypto: swift-crypto's generic HMAC cost more than all of a 1 KiB message's AES-GCM.
    static func committedKeys(dataKey: SymmetricKey, suite: AlgorithmSuite, messageID: [UInt8]) throws
        -> (encryptionKey: SymmetricKey, commitment: [UInt8]) {
        precondition(suite.isCommitting && suite.keyDerivation == .hkdfSHA512)
        var pseudorandomKey = try extractSHA512(dataKey: dataKey, salt: messageID)
        defer { pseudorandomKey.withUnsafeMutableBytes { cmk_cleanse($0.baseAddress, $0.count) } }
        let encryptionKey = try expandSHA512(pseudorandomKey, info: suiteIDBytes(suite) + deriveKeyLabel,
                                             byteCount: suite.encryptionKeyLength)
        var commitment = try expandSHA512(pseudorandomKey, info: commitKeyLabel, byteCount: AlgorithmSuite.commitmentLength)
        defer { commitment.withUnsafeMutableBytes { cmk_cleanse($0.baseAddress, $0.count) } }
        return (SymmetricKey(data: encryptionKey), commitment)
    }

    /// The AES-GCM key the header authentication and the body use.
    ///
    /// Committing suites salt HKDF-SHA512 with the 32-byte message id and bind the suite id into the
    /// info; legacy HKDF suites use no salt and bind suite id plus message id; the oldest suites use
    /// the data key directly.
    static func encryptionKey(dataKey: SymmetricKey, suite: AlgorithmSuite, messageID: [UInt8]) throws -> SymmetricKey {
        let length = suite.encryptionKeyLength
        switch suite.keyDerivation {
        case .none:
            return dataKey
        case .hkdfSHA512:
            return try committedKeys(dataKey: dataKey, suite: suite, messageID: messageID).encryptionKey
        case .hkdfSHA384:
            return HKDF<SHA384>.deriveKey(inputKeyMaterial: dataKey, info: suiteIDBytes(suite) + messageID, outputByteCount: length)
        case .hkdfSHA256:
            return HKDF<SHA256>.deriveKey(inputKeyMaterial: dataKey, info: suiteIDBytes(suite) + messageID, outputByteCount: length)
        }
    }

    private static func suiteIDBytes(_ suite: AlgorithmSuite) -> [UInt8] {
        [UInt8(truncatingIfNeeded: suite.id >> 8), UInt8(truncatingIfNeeded: suite.id)]
    }

    private static func extractSHA512(dataKey: SymmetricKey, salt: [UInt8]) throws -> [UInt8] {
        var pseudorandomKey = [UInt8](repeating: 0, count: 64)
        let status = dataKey.withUnsafeBytes { ikm in
            cmk_hkdf_sha512_extract(salt, salt.count, ikm.baseAddress?.assumingMemoryBound(to: UInt8.self), ikm.count, &pseudorandomKey)
        }
        guard status == 1 else { throw EnvelopeError(.keyringFailure, "HKDF-SHA512 failed in libcrypto") }
        return pseudorandomKey
    }

    private static func expandSHA512(_ pseudorandomKey: [UInt8], info: [UInt8], byteCount: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: byteCount)
        guard cmk_hkdf_sha512_expand(pseudorandomKey, info, info.count, &output, byteCount) == 1 else {
            throw EnvelopeError(.keyringFailure, "HKDF-SHA512 failed in libcrypto")
        }
        return output
    }
}

/// Compares two byte strings in time that depends only on their lengths, so that a commitment
/// check does not reveal how many leading bytes matched.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices {
        difference |= a[index] ^ b[index]
    }
    return difference == 0
}
