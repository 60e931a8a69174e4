import CMKEnvelope
import Crypto

/// A keyring whose wrapping keys live in a KMS, readable and writable by the AWS Encryption SDK's
/// KMS keyring.
///
/// Each encrypted data key it writes has provider id `aws-kms`, the key ARN KMS reported as provider
/// info, and the KMS ciphertext blob; the message's whole encryption context goes to KMS as its
/// EncryptionContext. That is exactly what the AWS SDKs write and expect, so messages cross between
/// cmkctl and them in both directions.
///
/// On decrypt only copies whose provider info is one of this keyring's key ARNs are tried (the SDK's
/// strict mode), and KMS is told which key to use, so a message can never make us call a key we
/// were not given.
public struct KMSKeyring: Keyring {
    public static let providerID = "aws-kms"

    private let client: any KMSClient
    /// The key that generates the data key when the materials have none yet.
    public let generatorKeyID: String?
    /// Further keys that each wrap the same data key (Encrypt).
    public let additionalKeyIDs: [String]

    public init(client: some KMSClient, generatorKeyID: String?, additionalKeyIDs: [String] = []) {
        self.client = client
        self.generatorKeyID = generatorKeyID
        self.additionalKeyIDs = additionalKeyIDs
    }

    public func onEncrypt(_ materials: EncryptionMaterials) async throws -> EncryptionMaterials {
        var materials = materials
        var wrapWith = additionalKeyIDs
        if materials.plaintextDataKey == nil {
            guard let generatorKeyID else {
                throw EnvelopeError(.keyringFailure, "the KMS keyring has no generator key and no data key was generated")
            }
            let generated = try await client.generateDataKey(keyID: generatorKeyID, numberOfBytes: materials.suite.dataKeyLength,
                                                             context: materials.encryptionContext)
            guard generated.plaintext.bitCount / 8 == materials.suite.dataKeyLength, (try? KeyARN(validating: generated.keyARN)) != nil else {
                throw EnvelopeError(.keyringFailure, "KMS returned a data key of the wrong length or without a key ARN")
            }
            try materials.setPlaintextDataKey(generated.plaintext)
            materials.append(EncryptedDataKey(providerID: Self.providerID, providerInfo: Array(generated.keyARN.utf8), ciphertext: generated.ciphertextBlob))
        } else if let generatorKeyID {
            wrapWith.insert(generatorKeyID, at: 0)
        }
        guard let dataKey = materials.plaintextDataKey else { return materials }
        for keyID in wrapWith {
            let wrapped = try await client.encrypt(keyID: keyID, plaintext: dataKey, context: materials.encryptionContext)
            materials.append(EncryptedDataKey(providerID: Self.providerID, providerInfo: Array(wrapped.keyARN.utf8), ciphertext: wrapped.ciphertextBlob))
        }
        return materials
    }

    public func onDecrypt(_ materials: DecryptionMaterials, encryptedDataKeys: [EncryptedDataKey]) async throws -> DecryptionMaterials {
        guard materials.plaintextDataKey == nil else { return materials }
        var materials = materials
        let ours = Set(([generatorKeyID].compactMap { $0 } + additionalKeyIDs))
        var failures: [KMSError] = []
        for edk in encryptedDataKeys where edk.providerIDString == Self.providerID {
            let arn = String(decoding: edk.providerInfo, as: UTF8.self)
            guard ours.contains(arn) else { continue }
            do {
                let result = try await client.decrypt(ciphertext: edk.ciphertext, context: materials.encryptionContext, keyID: arn)
                // The SDK specification requires KMS to confirm it used the key we asked for.
                guard result.keyARN == arn, result.plaintext.bitCount / 8 == materials.suite.dataKeyLength else {
                    failures.append(KMSError(.invalidCiphertext, "KMS decrypted with another key or returned a key of the wrong length"))
                    continue
                }
                try materials.setPlaintextDataKey(result.plaintext)
                return materials
            } catch let error as KMSError {
                failures.append(error)
            }
        }
        if let worst = Self.mostTelling(failures) { throw worst }
        return materials
    }

    /// The failure worth reporting when no copy unwrapped, by failure class: a revocation says the
    /// most, then a failure of our own setup (a wrong context or ciphertext among them), then a
    /// transient outage; within a class, the order of `KMSError.Code.allCases`.
    static func mostTelling(_ failures: [KMSError]) -> KMSError? {
        let classes: [KMSError.FailureClass] = [.revocation, .misconfiguration, .transient]
        func rank(_ error: KMSError) -> (Int, Int) {
            (classes.firstIndex(of: error.failureClass) ?? classes.count, KMSError.Code.allCases.firstIndex(of: error.code) ?? 0)
        }
        return failures.min { rank($0) < rank($1) }
    }
}
