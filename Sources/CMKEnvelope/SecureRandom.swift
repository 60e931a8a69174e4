import COpenSSLCrypto

/// Random bytes for data keys, message ids and wrapping IVs, straight from the kernel.
///
/// One `getrandom` system call per request (about 0.7 us here; OpenSSL 3.0's RAND_bytes took
/// 1.1 us and swift-crypto's `SymmetricKey(size:)` more, through its generic layers). A request
/// costs about as much as wrapping the data key, so callers ask once for all the bytes they need.
enum SecureRandom {
    static func bytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard bytes.withUnsafeMutableBufferPointer({ cmk_random_bytes($0.baseAddress, $0.count) }) == 1 else {
            throw EnvelopeError(.keyringFailure, "the system random number generator failed")
        }
        return bytes
    }
}
