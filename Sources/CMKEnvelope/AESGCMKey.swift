import COpenSSLCrypto
import Crypto
import Synchronization

/// An AES-GCM key held in the system libcrypto with its key schedule, so that the pieces sealed or
/// opened under one key (a message's header tag and frames; every data key a raw AES keyring wraps)
/// pay for the schedule once. In OpenSSL 3 setting up a context costs more than sealing 1 KiB.
final class AESGCMKey: Sendable {
    /// The libcrypto context. Each seal or open rewrites its IV and GCM state, so every use holds
    /// `lock` (a keyring is shared by concurrent tasks); `nonisolated(unsafe)` because that lock, not
    /// the compiler, keeps the pointer's uses apart.
    private nonisolated(unsafe) let context: OpaquePointer
    private let lock = Mutex(())

    /// - Parameter key: 16, 24 or 32 bytes.
    init(_ key: SymmetricKey) throws {
        let created = key.withUnsafeBytes { bytes in
            cmk_aes_gcm_key_new(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        guard let created else {
            throw EnvelopeError(.invalidArgument, "libcrypto refused an AES-GCM key of \(key.bitCount / 8) bytes")
        }
        context = created
    }

    deinit {
        cmk_aes_gcm_key_free(context)
    }

    /// Runs `body` with exclusive use of the libcrypto context; returns what it returns (success).
    func withContext(_ body: (OpaquePointer) -> Bool) -> Bool {
        lock.withLock { _ in body(context) }
    }
}
