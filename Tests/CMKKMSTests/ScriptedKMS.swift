import CMKEnvelope
import CMKKMS
import Crypto
import Synchronization

/// A KMS client whose Encrypt and Decrypt answer, fail, or hang as scripted, and which counts the
/// calls that were cancelled while hanging.
final class ScriptedKMS: KMSClient, Sendable {
    enum Behaviour: Sendable {
        case answer
        case fail(KMSError.Code)
        case hang
    }

    let behaviour: Behaviour
    let dataKey: SymmetricKey
    private let counts = Mutex((calls: 0, cancelled: 0))

    init(_ behaviour: Behaviour, dataKey: SymmetricKey = SymmetricKey(data: [UInt8](repeating: 0x42, count: 32))) {
        self.behaviour = behaviour
        self.dataKey = dataKey
    }

    var calls: Int { counts.withLock { $0.calls } }
    var cancelled: Int { counts.withLock { $0.cancelled } }

    private func perform<T>(_ answer: () -> T) async throws -> T {
        counts.withLock { $0.calls += 1 }
        switch behaviour {
        case .answer:
            return answer()
        case .fail(let code):
            throw KMSError(code, "scripted failure")
        case .hang:
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                counts.withLock { $0.cancelled += 1 }
                throw error
            }
            throw KMSError(.unreachable, "hung for an hour")
        }
    }

    func encrypt(keyID: String, plaintext: SymmetricKey, context: EncryptionContext) async throws -> KMSCiphertext {
        try await perform { KMSCiphertext(ciphertextBlob: Array(keyID.utf8), keyARN: keyID) }
    }

    func decrypt(ciphertext: [UInt8], context: EncryptionContext, keyID: String?) async throws -> KMSPlaintext {
        try await perform { KMSPlaintext(plaintext: dataKey, keyARN: keyID ?? "") }
    }

    func generateDataKey(keyID: String, numberOfBytes: Int, context: EncryptionContext) async throws -> GeneratedDataKey { throw unsupported }
    func reEncrypt(ciphertext: [UInt8], sourceContext: EncryptionContext, destinationKeyID: String, destinationContext: EncryptionContext) async throws -> KMSCiphertext { throw unsupported }
    func describeKey(keyID: String) async throws -> KeyMetadata { throw unsupported }
    func getKeyPolicy(keyID: String) async throws -> String { throw unsupported }
    func createKey(description: String, policy: String?) async throws -> KeyMetadata { throw unsupported }
    func putKeyPolicy(keyID: String, policy: String) async throws { throw unsupported }
    func enableKey(keyID: String) async throws { throw unsupported }
    func disableKey(keyID: String) async throws { throw unsupported }
    func scheduleKeyDeletion(keyID: String, pendingWindowInDays: Int) async throws -> Double? { throw unsupported }
    func cancelKeyDeletion(keyID: String) async throws { throw unsupported }

    private var unsupported: KMSError { KMSError(.invalidRequest, "not scripted") }
}
