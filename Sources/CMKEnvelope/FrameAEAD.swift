import COpenSSLCrypto
import Crypto

/// AES-GCM over the system libcrypto, writing ciphertext or plaintext straight into the caller's
/// buffer.
///
/// swift-crypto's `AES.GCM.seal` returns a sealed box that it assembles by appending nonce,
/// ciphertext and tag, and the body must then be copied out again: three copies per frame, which
/// capped streaming at a fifth of the CPU's AES-GCM speed. Frames are sealed here instead; keys and
/// the header tag stay with swift-crypto.
enum FrameAEAD {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static func cipher(forKeyBytes count: Int) throws -> OpaquePointer {
        switch count {
        case 16: return EVP_aes_128_gcm()
        case 24: return EVP_aes_192_gcm()
        case 32: return EVP_aes_256_gcm()
        default: throw Failure(description: "AES-GCM key of \(count) bytes")
        }
    }

    /// Appends the ciphertext of `plaintext` and then its 16-byte tag to `output`.
    static func seal(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, iv: [UInt8], aad: [UInt8], into output: inout [UInt8]) throws {
        guard let context = EVP_CIPHER_CTX_new() else { throw Failure(description: "EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        let start = output.count
        output.append(contentsOf: [UInt8](repeating: 0, count: plaintext.count + AlgorithmSuite.tagLength))
        let succeeded = try key.withUnsafeBytes { keyBytes -> Bool in
            let cipher = try Self.cipher(forKeyBytes: keyBytes.count)
            var written: Int32 = 0
            guard EVP_EncryptInit_ex(context, cipher, nil, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), iv) == 1,
                  EVP_EncryptUpdate(context, nil, &written, aad, Int32(aad.count)) == 1 else { return false }
            return output.withUnsafeMutableBytes { buffer -> Bool in
                let destination = buffer.baseAddress!.advanced(by: start).assumingMemoryBound(to: UInt8.self)
                var length: Int32 = 0
                if plaintext.count > 0 {
                    guard EVP_EncryptUpdate(context, destination, &length, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                            Int32(plaintext.count)) == 1 else { return false }
                }
                var finalLength: Int32 = 0
                guard EVP_EncryptFinal_ex(context, destination.advanced(by: Int(length)), &finalLength) == 1,
                      Int(length + finalLength) == plaintext.count else { return false }
                return EVP_CIPHER_CTX_ctrl(context, COPENSSL_GCM_GET_TAG, Int32(AlgorithmSuite.tagLength),
                                           destination.advanced(by: plaintext.count)) == 1
            }
        }
        guard succeeded else {
            output.removeSubrange(start...)
            throw Failure(description: "AES-GCM seal failed")
        }
    }

    /// Appends the plaintext to `output` only if the tag verifies; on failure `output` is unchanged.
    static func open(ciphertext: ArraySlice<UInt8>, tag: ArraySlice<UInt8>, key: SymmetricKey, iv: ArraySlice<UInt8>, aad: [UInt8],
                     into output: inout [UInt8]) throws {
        guard let context = EVP_CIPHER_CTX_new() else { throw Failure(description: "EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        let start = output.count
        output.append(contentsOf: [UInt8](repeating: 0, count: ciphertext.count))
        var tagBytes = Array(tag)
        let verified = try key.withUnsafeBytes { keyBytes -> Bool in
            let cipher = try Self.cipher(forKeyBytes: keyBytes.count)
            var written: Int32 = 0
            let ivBytes = Array(iv)
            guard EVP_DecryptInit_ex(context, cipher, nil, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), ivBytes) == 1,
                  EVP_DecryptUpdate(context, nil, &written, aad, Int32(aad.count)) == 1 else { return false }
            return ciphertext.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBytes { buffer -> Bool in
                    let destination = buffer.baseAddress!.advanced(by: start).assumingMemoryBound(to: UInt8.self)
                    var length: Int32 = 0
                    if source.count > 0 {
                        guard EVP_DecryptUpdate(context, destination, &length, source.baseAddress!, Int32(source.count)) == 1 else { return false }
                    }
                    guard EVP_CIPHER_CTX_ctrl(context, COPENSSL_GCM_SET_TAG, Int32(tagBytes.count), &tagBytes) == 1 else { return false }
                    var finalLength: Int32 = 0
                    return EVP_DecryptFinal_ex(context, destination.advanced(by: Int(length)), &finalLength) == 1
                }
            }
        }
        guard verified else {
            // Wipe the unauthenticated bytes before dropping them, so they never reach a caller.
            for index in start..<output.count { output[index] = 0 }
            output.removeSubrange(start...)
            throw Failure(description: "AES-GCM tag does not verify")
        }
    }
}
