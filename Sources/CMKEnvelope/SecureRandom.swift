import COpenSSLCrypto
import Crypto

/// Random bytes for data keys, message ids and wrapping IVs, from the system libcrypto's DRBG.
///
/// swift-crypto asks the kernel (`getrandom`) on every request; a 1 KiB message needs three, and
/// the system calls cost more than the message's AES-GCM. libcrypto's DRBG is seeded and reseeded
/// by the kernel and answers from user space.
enum SecureRandom {
    static func bytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard bytes.withUnsafeMutableBufferPointer({ cmk_random_bytes($0.baseAddress, $0.count) }) == 1 else {
            throw EnvelopeError(.keyringFailure, "the system random number generator failed")
        }
        return bytes
    }

    /// A new key of `byteCount` random bytes; the bytes exist outside the key only briefly and are
    /// wiped.
    static func key(byteCount: Int) throws -> SymmetricKey {
        var bytes = try bytes(byteCount)
        defer { bytes.withUnsafeMutableBytes { cmk_cleanse($0.baseAddress, $0.count) } }
        return SymmetricKey(data: bytes)
    }
}
