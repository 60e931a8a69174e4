import COpenSSLCrypto

/// AES-GCM (12-byte IV, 16-byte tag) over the system libcrypto, writing ciphertext or plaintext
/// straight into the caller's buffer.
///
/// swift-crypto's `AES.GCM.seal` returns a sealed box that it assembles by appending nonce,
/// ciphertext and tag, and the body must then be copied out again: three copies per frame, which
/// capped streaming at a fifth of the CPU's AES-GCM speed. Its generic Swift layers also cost more
/// than the cipher itself on small pieces (the header tag, a wrapped 32-byte data key). So frames,
/// header tags and raw AES key wrapping all go through here; the cipher is fetched once per process.
enum InPlaceAESGCM {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Appends the ciphertext of `plaintext` and then its 16-byte tag to `output`.
    static func seal(_ plaintext: UnsafeRawBufferPointer, key: AESGCMKey, iv: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     into output: inout [UInt8]) throws {
        precondition(iv.count == AlgorithmSuite.ivLength)
        let start = output.count
        output.appendZeros(plaintext.count + AlgorithmSuite.tagLength)
        let sealed = key.withContext { context in
            output.withUnsafeMutableBytes { buffer in
                let destination = buffer.baseAddress!.advanced(by: start).assumingMemoryBound(to: UInt8.self)
                return cmk_aes_gcm_seal(context, iv.bytes,
                                        aad.bytes, aad.count,
                                        plaintext.bytes, plaintext.count,
                                        destination, destination.advanced(by: plaintext.count)) == 1
            }
        }
        guard sealed else {
            output.removeSubrange(start...)
            throw Failure(description: "AES-GCM seal failed")
        }
    }

    /// Appends the plaintext to `output` only if the tag verifies; on failure `output` is unchanged.
    static func open(ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer, key: AESGCMKey, iv: UnsafeRawBufferPointer,
                     aad: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        precondition(iv.count == AlgorithmSuite.ivLength && tag.count == AlgorithmSuite.tagLength)
        let start = output.count
        output.appendZeros(ciphertext.count)
        let verified = key.withContext { context in
            output.withUnsafeMutableBytes { buffer in
                cmk_aes_gcm_open(context, iv.bytes,
                                 aad.bytes, aad.count,
                                 ciphertext.bytes, ciphertext.count,
                                 tag.bytes,
                                 buffer.baseAddress!.advanced(by: start).assumingMemoryBound(to: UInt8.self)) == 1
            }
        }
        guard verified else {
            // cmk_aes_gcm_open zeroed what it wrote, so nothing unauthenticated is left behind.
            output.removeSubrange(start...)
            throw Failure(description: "AES-GCM tag does not verify")
        }
    }
}

extension UnsafeRawBufferPointer {
    /// The start as C's `const uint8_t *`; nil for an empty buffer, which the C side never reads.
    fileprivate var bytes: UnsafePointer<UInt8>? {
        baseAddress.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) }
    }
}
