import CMKEnvelope
import CMKKMS
import Logging

/// A tenant message being read piece by piece (`TenantCrypto.decryptor`); plaintext comes only from
/// frames that authenticated.
///
/// Every failure to read the message, whatever its cause (damage, tampering, another tenant's
/// context, a key the tenant does not have), is the one opaque `TenantError.decryptFailed`; the
/// reason goes to the debug log. A KMS that refuses or is out of reach is reported as the
/// `KMSError` it is, since the caller must tell a revoked key or an outage from a bad message.
public struct TenantDecryptor {
    private var decryptor: MessageDecryptor
    private let tenant: String
    private let generations: [KeyGeneration]
    private let logger: Logger

    init(decryptor: MessageDecryptor, tenant: String, generations: [KeyGeneration], logger: Logger) {
        self.decryptor = decryptor
        self.tenant = tenant
        self.generations = generations
        self.logger = logger
    }

    /// The message's suite, once its header authenticated.
    public var suite: AlgorithmSuite? { decryptor.suite }

    /// The message's context (the tenant pair included), once its header authenticated.
    public var encryptionContext: EncryptionContext? { decryptor.encryptionContext }

    /// The key generation that wrote the message, once its header authenticated.
    public var generation: Int? {
        decryptor.encryptedDataKeys.flatMap { Self.generation(of: $0, among: generations) }
    }

    /// Takes more message bytes; returns plaintext from frames that authenticated.
    public mutating func update(_ bytes: some Collection<UInt8>) async throws -> [UInt8] {
        var plaintext: [UInt8] = []
        try await update(bytes, into: &plaintext)
        return plaintext
    }

    /// Takes more message bytes and appends the plaintext of frames that authenticated to `plaintext`.
    public mutating func update(_ bytes: some Collection<UInt8>, into plaintext: inout [UInt8]) async throws {
        do {
            try await decryptor.update(bytes, into: &plaintext)
        } catch {
            throw opaque(error)
        }
    }

    /// Ends the input: succeeds only if the message was whole and valid and nothing followed it.
    public mutating func finish() throws -> [UInt8] {
        do {
            return try decryptor.finish()
        } catch {
            throw opaque(error)
        }
    }

    private func opaque(_ error: any Error) -> any Error {
        switch error {
        case is EnvelopeError:
            break
        case let kms as KMSError where kms.code == .invalidCiphertext:
            // KMS refused the copy under the message's context: tampered, or another tenant's.
            break
        default:
            return error
        }
        logger.debug("tenant decrypt failed", metadata: ["tenant": "\(tenant.escapingControlCharacters)", "reason": "\(error)"])
        return TenantError.decryptFailed
    }

    /// The newest generation whose keys made one of the message's copies. The operator's alias
    /// (generation 0) is stored as an alias while a header names the key it pointed to, so a message
    /// no other generation claims is that generation's.
    static func generation(of encryptedDataKeys: [EncryptedDataKey], among generations: [KeyGeneration]) -> Int? {
        let arns = Set(encryptedDataKeys.filter { $0.providerIDString == KMSKeyring.providerID }
            .map { String(decoding: $0.providerInfo, as: UTF8.self) })
        if let match = generations.last(where: { generation in generation.keys.contains { arns.contains($0.keyARN) } }) {
            return match.number
        }
        return generations.first { generation in
            generation.keys.contains { (try? KeyARN(validating: $0.keyARN, allowAlias: true))?.isAlias == true }
        }?.number
    }
}
