import CMKEnvelope
import CMKKMS
import Crypto
import Foundation

/// A KMS client that appends every call it makes for a tenant to the audit trail: the API, the key,
/// the region, the outcome (ok or the error code) and the latency. Never the plaintext, data keys or
/// ciphertext blobs.
///
/// Each entry is its own write after the call returns, so the trail says what really happened: a call
/// repeated after a crash appears twice, with the step's idempotency key in its cause both times.
public struct AuditedKMSClient<Repository: TenantRepository>: KMSClient {
    let inner: any KMSClient
    let repository: Repository
    let tenant: String
    let cause: Cause
    let now: @Sendable () -> Date

    public init(_ inner: any KMSClient, repository: Repository, tenant: String, cause: Cause,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.inner = inner
        self.repository = repository
        self.tenant = tenant
        self.cause = cause
        self.now = now
    }

    private func audited<T: Sendable>(_ action: String, key: String?, context: EncryptionContext?,
                                      _ body: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        var detail: [String: String] = [:]
        if let key {
            detail["key"] = key
            detail["region"] = (try? KeyARN(validating: key, allowAlias: true))?.region ?? "unknown"
        }
        if let context, !context.isEmpty {
            detail["encryptionContext"] = context.pairs.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        do {
            let value = try await body()
            detail["outcome"] = "ok"
            detail["latencyMs"] = milliseconds(since: started)
            try await record(action, detail)
            return value
        } catch let error as KMSError {
            detail["outcome"] = error.code.name
            detail["latencyMs"] = milliseconds(since: started)
            try await record(action, detail)
            throw error
        }
    }

    private func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return String(format: "%.1f", ms)
    }

    private func record(_ action: String, _ detail: [String: String]) async throws {
        let tenant = tenant, cause = cause, at = now(), repository = repository
        _ = try await repository.write { transaction in
            try await AuditLog.append(repository, in: transaction, tenant: tenant, kind: .kmsCall, action: action, detail: detail,
                                      cause: cause, at: at)
        }
    }

    public func generateDataKey(keyID: String, numberOfBytes: Int, context: EncryptionContext) async throws -> GeneratedDataKey {
        try await audited("GenerateDataKey", key: keyID, context: context) {
            try await inner.generateDataKey(keyID: keyID, numberOfBytes: numberOfBytes, context: context)
        }
    }

    public func encrypt(keyID: String, plaintext: SymmetricKey, context: EncryptionContext) async throws -> KMSCiphertext {
        try await audited("Encrypt", key: keyID, context: context) {
            try await inner.encrypt(keyID: keyID, plaintext: plaintext, context: context)
        }
    }

    public func decrypt(ciphertext: [UInt8], context: EncryptionContext, keyID: String?) async throws -> KMSPlaintext {
        try await audited("Decrypt", key: keyID, context: context) {
            try await inner.decrypt(ciphertext: ciphertext, context: context, keyID: keyID)
        }
    }

    public func reEncrypt(ciphertext: [UInt8], sourceContext: EncryptionContext, destinationKeyID: String,
                          destinationContext: EncryptionContext) async throws -> KMSCiphertext {
        try await audited("ReEncrypt", key: destinationKeyID, context: destinationContext) {
            try await inner.reEncrypt(ciphertext: ciphertext, sourceContext: sourceContext, destinationKeyID: destinationKeyID,
                                      destinationContext: destinationContext)
        }
    }

    public func describeKey(keyID: String) async throws -> KeyMetadata {
        try await audited("DescribeKey", key: keyID, context: nil) { try await inner.describeKey(keyID: keyID) }
    }

    public func getKeyPolicy(keyID: String) async throws -> String {
        try await audited("GetKeyPolicy", key: keyID, context: nil) { try await inner.getKeyPolicy(keyID: keyID) }
    }

    public func createKey(description: String, policy: String?) async throws -> KeyMetadata {
        try await audited("CreateKey", key: nil, context: nil) { try await inner.createKey(description: description, policy: policy) }
    }

    public func putKeyPolicy(keyID: String, policy: String) async throws {
        try await audited("PutKeyPolicy", key: keyID, context: nil) { try await inner.putKeyPolicy(keyID: keyID, policy: policy) }
    }

    public func enableKey(keyID: String) async throws {
        try await audited("EnableKey", key: keyID, context: nil) { try await inner.enableKey(keyID: keyID) }
    }

    public func disableKey(keyID: String) async throws {
        try await audited("DisableKey", key: keyID, context: nil) { try await inner.disableKey(keyID: keyID) }
    }

    public func scheduleKeyDeletion(keyID: String, pendingWindowInDays: Int) async throws -> Double? {
        try await audited("ScheduleKeyDeletion", key: keyID, context: nil) {
            try await inner.scheduleKeyDeletion(keyID: keyID, pendingWindowInDays: pendingWindowInDays)
        }
    }

    public func cancelKeyDeletion(keyID: String) async throws {
        try await audited("CancelKeyDeletion", key: keyID, context: nil) { try await inner.cancelKeyDeletion(keyID: keyID) }
    }
}
