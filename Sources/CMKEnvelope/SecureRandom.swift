import COpenSSLCrypto

/// Random bytes for data keys, message ids and wrapping IVs, from the system libcrypto's DRBG.
///
/// swift-crypto asks the kernel (`getrandom`) on every request, which cost more than a 1 KiB
/// message's AES-GCM; libcrypto's DRBG is seeded and reseeded by the kernel (and after a fork) and
/// answers from user space. A request still costs about a microsecond, so callers ask once for all
/// the bytes they need.
enum SecureRandom {
    static func bytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard bytes.withUnsafeMutableBufferPointer({ cmk_random_bytes($0.baseAddress, $0.count) }) == 1 else {
            throw EnvelopeError(.keyringFailure, "the system random number generator failed")
        }
        return bytes
    }
}
