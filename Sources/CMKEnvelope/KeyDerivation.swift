import Crypto
import Foundation

/// Derives the body key (and the key commitment) from a message's data key, per algorithm suite.
enum KeyDerivation {
    private static let deriveKeyLabel = Array("DERIVEKEY".utf8)
    private static let commitKeyLabel = Array("COMMITKEY".utf8)

    /// The AES-GCM key the header authentication and the body use.
    ///
    /// Committing suites salt HKDF-SHA512 with the 32-byte message id and bind the suite id into the
    /// info; legacy HKDF suites use no salt and bind suite id plus message id; the oldest suites use
    /// the data key directly.
    static func encryptionKey(dataKey: SymmetricKey, suite: AlgorithmSuite, messageID: [UInt8]) -> SymmetricKey {
        let length = suite.encryptionKeyLength
        var suiteID = ByteWriter(capacity: 2)
        suiteID.write(suite.id)
        switch suite.keyDerivation {
        case .none:
            return dataKey
        case .hkdfSHA512:
            return HKDF<SHA512>.deriveKey(inputKeyMaterial: dataKey, salt: messageID,
                                          info: suiteID.bytes + deriveKeyLabel, outputByteCount: length)
        case .hkdfSHA384:
            return HKDF<SHA384>.deriveKey(inputKeyMaterial: dataKey, info: suiteID.bytes + messageID, outputByteCount: length)
        case .hkdfSHA256:
            return HKDF<SHA256>.deriveKey(inputKeyMaterial: dataKey, info: suiteID.bytes + messageID, outputByteCount: length)
        }
    }

    /// The 32-byte key commitment stored in a committing suite's header.
    static func commitment(dataKey: SymmetricKey, messageID: [UInt8]) -> [UInt8] {
        let key = HKDF<SHA512>.deriveKey(inputKeyMaterial: dataKey, salt: messageID, info: commitKeyLabel,
                                         outputByteCount: AlgorithmSuite.commitmentLength)
        return key.withUnsafeBytes { Array($0) }
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
