import CMKEnvelope
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-backed KMS for the embedded default, when a tenant has no cloud account.
///
/// It behaves like AWS KMS where cmkctl can tell the difference: ARN-shaped key ids
/// (`arn:aws:kms:local:000000000000:key/<uuid>`), aliases, the Enabled/Disabled/PendingDeletion
/// states, a policy document per key (its Deny statements are enforced), the encryption context
/// bound as authenticated data, and the same `KMSError` codes. So disabling a key here suspends a
/// tenant exactly as disabling it in AWS would.
///
/// Only `createIfMissing` creates the file; a missing, unreadable or world-readable file, or a key
/// the file never held, is `misconfigured` (the operator's), naming the file.
///
/// An actor, because every change rewrites the one file and changes must not interleave.
public actor LocalKMS: KMSClient {
    public static let defaultAccount = "000000000000"
    public static let defaultRegion = "local"
    /// Where the CLI keeps the file unless told otherwise, relative to the working directory.
    public static let defaultPath = ".cmkctl/local-kms.json"

    public nonisolated let path: String
    private var store: LocalKeyStoreFile
    private let now: @Sendable () -> Date

    /// Opens the local KMS file at `path`.
    ///
    /// Reading never creates anything: a missing file is a `misconfigured` error naming the file, so a
    /// key ARN used from another directory is not met by a new, empty KMS that then answers "no such
    /// key" for the customer's key. Only `createIfMissing` (what `cmkctl kms create-key` passes)
    /// makes the file, owner-only, in directories made owner-only.
    public init(path: String, createIfMissing: Bool = false, now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.path = path
        self.now = now
        if createIfMissing {
            store = try Self.withFileLock(path) {
                if let existing = try LocalKeyStoreFile.load(path: path) { return existing }
                let fresh = LocalKeyStoreFile.fresh(account: Self.defaultAccount, region: Self.defaultRegion)
                try fresh.save(path: path)
                return fresh
            }
        } else {
            // The file is only ever replaced by a rename, so reading it needs no lock (and no lock file).
            guard let existing = try LocalKeyStoreFile.load(path: path) else {
                throw KMSError(.misconfigured, "there is no local KMS file at \(LocalKeyStoreFile.displayPath(path)): "
                    + "`cmkctl kms create-key` creates one, --local-kms names another")
            }
            store = existing
        }
    }

    // MARK: key management

    public func createKey(description: String, policy: String?) async throws -> KeyMetadata {
        try createKey(description: description, policy: policy, alias: nil)
    }

    /// Creates a key and optionally names it; the alias must not exist yet.
    public func createKey(description: String, policy: String?, alias: String?) throws -> KeyMetadata {
        if let policy { try LocalKeyPolicy.validate(policy) }
        let aliasName = try alias.map(AliasName.normalized)
        if let aliasName {
            guard !store.aliases.contains(where: { $0.name == aliasName }) else {
                throw KMSError(.invalidRequest, "alias \(aliasName) already exists", serviceErrorType: "AlreadyExistsException")
            }
        }
        let id = UUID().uuidString.lowercased()
        let arn = try KeyARN(region: store.region, account: store.account, keyID: id).description
        let key = LocalKeyStoreFile.Key(id: id, arn: arn, state: .enabled, description: description,
                                        policy: policy ?? LocalKeyPolicy.defaultDocument(account: store.account),
                                        creationDate: now().timeIntervalSince1970, deletionDate: nil)
        try transaction { next in
            if let aliasName, next.aliases.contains(where: { $0.name == aliasName }) {
                throw KMSError(.invalidRequest, "alias \(aliasName) already exists", serviceErrorType: "AlreadyExistsException")
            }
            next.keys.append(key)
            if let aliasName { next.aliases.append((aliasName, id)) }
        }
        return metadata(key)
    }

    /// Every key that still exists, with its aliases.
    public func listKeys() -> [(metadata: KeyMetadata, aliases: [String])] {
        purgeExpired()
        return store.keys.map { key in (metadata(key), store.aliases.filter { $0.keyID == key.id }.map(\.name)) }
    }

    public func describeKey(keyID: String) async throws -> KeyMetadata {
        metadata(try resolve(keyID))
    }

    public func aliases(ofKeyID keyID: String) throws -> [String] {
        let key = try resolve(keyID)
        return store.aliases.filter { $0.keyID == key.id }.map(\.name)
    }

    public func getKeyPolicy(keyID: String) async throws -> String {
        try resolve(keyID).policy
    }

    public func putKeyPolicy(keyID: String, policy: String) async throws {
        try LocalKeyPolicy.validate(policy)
        try update(keyID) { $0.policy = policy }
    }

    public func enableKey(keyID: String) async throws {
        try update(keyID) { key in
            guard key.state != .pendingDeletion else { throw Self.invalidState(key) }
            key.state = .enabled
        }
    }

    public func disableKey(keyID: String) async throws {
        try update(keyID) { key in
            guard key.state != .pendingDeletion else { throw Self.invalidState(key) }
            key.state = .disabled
        }
    }

    public func scheduleKeyDeletion(keyID: String, pendingWindowInDays: Int) async throws -> Double? {
        guard (7...30).contains(pendingWindowInDays) else {
            throw KMSError(.invalidRequest, "the pending window must be 7 to 30 days")
        }
        let deletion = now().timeIntervalSince1970 + Double(pendingWindowInDays) * 86_400
        try update(keyID) { key in
            key.state = .pendingDeletion
            key.deletionDate = deletion
        }
        return deletion
    }

    public func cancelKeyDeletion(keyID: String) async throws {
        try update(keyID) { key in
            guard key.state == .pendingDeletion else { throw Self.invalidState(key) }
            // AWS leaves a key whose deletion was cancelled disabled, so that it is re-enabled on purpose.
            key.state = .disabled
            key.deletionDate = nil
        }
    }

    // MARK: cryptographic operations

    public func generateDataKey(keyID: String, numberOfBytes: Int, context: EncryptionContext) async throws -> GeneratedDataKey {
        guard (1...1024).contains(numberOfBytes) else { throw KMSError(.invalidRequest, "NumberOfBytes must be 1 to 1024") }
        let key = try usableKey(keyID, action: "kms:GenerateDataKey")
        let plaintext = SymmetricKey(size: SymmetricKeySize(bitCount: numberOfBytes * 8))
        return GeneratedDataKey(plaintext: plaintext, ciphertextBlob: try seal(plaintext, key: key, context: context), keyARN: key.arn)
    }

    public func encrypt(keyID: String, plaintext: SymmetricKey, context: EncryptionContext) async throws -> KMSCiphertext {
        guard (1...4096).contains(plaintext.bitCount / 8) else { throw KMSError(.invalidRequest, "plaintext must be 1 to 4096 bytes") }
        let key = try usableKey(keyID, action: "kms:Encrypt")
        return KMSCiphertext(ciphertextBlob: try seal(plaintext, key: key, context: context), keyARN: key.arn)
    }

    public func decrypt(ciphertext: [UInt8], context: EncryptionContext, keyID: String?) async throws -> KMSPlaintext {
        let blob = try LocalCiphertextBlob(parsing: ciphertext)
        if let keyID {
            let pinned = try resolve(keyID)
            guard pinned.id == blob.keyID else {
                throw KMSError(.invalidCiphertext, "the ciphertext was made by another key", serviceErrorType: "IncorrectKeyException")
            }
        }
        let key = try usableKey(blob.keyID, action: "kms:Decrypt")
        return KMSPlaintext(plaintext: try unseal(blob, key: key, context: context), keyARN: key.arn)
    }

    public func reEncrypt(ciphertext: [UInt8], sourceContext: EncryptionContext, destinationKeyID: String, destinationContext: EncryptionContext) async throws -> KMSCiphertext {
        let blob = try LocalCiphertextBlob(parsing: ciphertext)
        let source = try usableKey(blob.keyID, action: "kms:ReEncryptFrom")
        let plaintext = try unseal(blob, key: source, context: sourceContext)
        let destination = try usableKey(destinationKeyID, action: "kms:ReEncryptTo")
        return KMSCiphertext(ciphertextBlob: try seal(plaintext, key: destination, context: destinationContext), keyARN: destination.arn)
    }

    // MARK: internals

    private func metadata(_ key: LocalKeyStoreFile.Key) -> KeyMetadata {
        KeyMetadata(keyID: key.id, arn: key.arn, stateName: key.state.rawValue, keySpec: "SYMMETRIC_DEFAULT",
                    keyUsage: "ENCRYPT_DECRYPT", description: key.description, creationDate: key.creationDate, deletionDate: key.deletionDate)
    }

    /// Keys whose deletion date has passed are gone, as in AWS: later calls get `notFound`. Their ids
    /// and aliases are remembered, so "deleted here" stays a revocation while "never in this file" is
    /// a misconfiguration.
    private func purgeExpired() {
        let t = now().timeIntervalSince1970
        let expired = store.keys.filter { $0.state == .pendingDeletion && ($0.deletionDate ?? .infinity) <= t }.map(\.id)
        guard !expired.isEmpty else { return }
        try? transaction { next in
            next.deletedKeyIDs.append(contentsOf: expired.filter { !next.deletedKeyIDs.contains($0) })
            next.deletedAliases.append(contentsOf: next.aliases.filter { expired.contains($0.keyID) }.map(\.name))
            next.keys.removeAll { expired.contains($0.id) }
            next.aliases.removeAll { expired.contains($0.keyID) }
        }
    }

    /// Finds a key by ARN, id, `alias/name` or alias ARN.
    private func resolve(_ keyID: String) throws -> LocalKeyStoreFile.Key {
        purgeExpired()
        var id = keyID
        if KeyARN.looksLikeARN(keyID) {
            let arn = try KeyARN(validating: keyID, allowAlias: true)
            guard arn.account == store.account, arn.region == store.region else {
                throw notInThisFile(keyID, because: "it names account \(arn.account), region \(arn.region)")
            }
            id = arn.resource
            if id.hasPrefix("key/") { id = String(id.dropFirst(4)) }
        }
        if id.hasPrefix("alias/") {
            guard let alias = store.aliases.first(where: { $0.name == id }) else {
                if store.deletedAliases.contains(id) {
                    throw KMSError(.notFound, "the key of \(id) was deleted", serviceErrorType: "NotFoundException")
                }
                throw notInThisFile(id)
            }
            id = alias.keyID
        }
        if let key = store.keys.first(where: { $0.id == id }) { return key }
        // A bare name that is no key id is taken as an alias (`tenant-a` for `alias/tenant-a`), for people.
        if !KeyARN.looksLikeARN(keyID), !id.contains("/"), let alias = store.aliases.first(where: { $0.name == "alias/" + id }),
           let key = store.keys.first(where: { $0.id == alias.keyID }) {
            return key
        }
        if store.deletedKeyIDs.contains(id) || (!id.contains("/") && store.deletedAliases.contains("alias/" + id)) {
            throw KMSError(.notFound, "key \(keyID) was deleted", serviceErrorType: "NotFoundException")
        }
        throw notInThisFile(keyID)
    }

    /// A key this file never held: most likely another directory's local KMS (the default path is
    /// relative), so the operator's to fix, never the customer's revocation.
    private func notInThisFile(_ keyID: String, because reason: String? = nil) -> KMSError {
        KMSError(.misconfigured, "\(keyID) is not in the local KMS file \(LocalKeyStoreFile.displayPath(path))"
            + (reason.map { " (\($0))" } ?? "") + ": is --local-kms the file that created it?")
    }

    private func usableKey(_ keyID: String, action: String) throws -> LocalKeyStoreFile.Key {
        let key = try resolve(keyID)
        if LocalKeyPolicy(document: key.policy).denies(action) {
            throw KMSError(.denied, "the key policy of \(key.arn) denies \(action)", serviceErrorType: "AccessDeniedException")
        }
        switch key.state {
        case .enabled: return key
        case .disabled: throw KMSError(.disabled, "\(key.arn) is disabled", serviceErrorType: "DisabledException")
        default: throw Self.invalidState(key)
        }
    }

    private static func invalidState(_ key: LocalKeyStoreFile.Key) -> KMSError {
        KMSError(.disabled, "\(key.arn) is \(key.state.rawValue)", serviceErrorType: "KMSInvalidStateException")
    }

    private func update(_ keyID: String, _ change: (inout LocalKeyStoreFile.Key) throws -> Void) throws {
        let key = try resolve(keyID)
        try transaction { next in
            guard let index = next.keys.firstIndex(where: { $0.id == key.id }) else {
                throw KMSError(.notFound, "key \(keyID) was deleted", serviceErrorType: "NotFoundException")
            }
            try change(&next.keys[index])
        }
    }

    /// One read-modify-write of the file under an exclusive lock (`<path>.lock`), starting from what
    /// is on disk now, so two cmkctl processes changing keys at once do not lose each other's change.
    /// Saves first, then adopts: a failed write leaves memory and disk agreeing.
    private func transaction(_ change: (inout LocalKeyStoreFile) throws -> Void) throws {
        store = try Self.withFileLock(path) {
            var next = try LocalKeyStoreFile.load(path: path) ?? store
            try change(&next)
            try next.save(path: path)
            return next
        }
    }

    private static func withFileLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        try LocalKeyStoreFile.createPrivateDirectories(for: path)
        #if canImport(Glibc)
        let lock = Glibc.open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #else
        let lock = Darwin.open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #endif
        guard lock >= 0 else {
            throw KMSError(.misconfigured, "cannot open the lock file \(LocalKeyStoreFile.displayPath(path)).lock: \(String(cString: strerror(errno)))")
        }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else {
            throw KMSError(.misconfigured, "cannot lock \(LocalKeyStoreFile.displayPath(path)): \(String(cString: strerror(errno)))")
        }
        defer { flock(lock, LOCK_UN) }
        return try body()
    }

    /// The key's AES-256 key, derived from the root secret and the key id.
    private func wrappingKey(_ key: LocalKeyStoreFile.Key) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: store.rootSecret), salt: Array("cmkctl-local-kms/1".utf8),
                               info: Array(key.id.utf8), outputByteCount: 32)
    }

    private func seal(_ plaintext: SymmetricKey, key: LocalKeyStoreFile.Key, context: EncryptionContext) throws -> [UInt8] {
        let aad = try LocalCiphertextBlob.additionalData(keyID: key.id, context: context)
        let box = try plaintext.withUnsafeBytes { try AES.GCM.seal($0, using: wrappingKey(key), authenticating: aad) }
        return LocalCiphertextBlob(keyID: key.id, nonce: Array(box.nonce), ciphertext: Array(box.ciphertext), tag: Array(box.tag)).encoded()
    }

    private func unseal(_ blob: LocalCiphertextBlob, key: LocalKeyStoreFile.Key, context: EncryptionContext) throws -> SymmetricKey {
        do {
            let aad = try LocalCiphertextBlob.additionalData(keyID: key.id, context: context)
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: blob.nonce), ciphertext: blob.ciphertext, tag: blob.tag)
            return SymmetricKey(data: try AES.GCM.open(box, using: wrappingKey(key), authenticating: aad))
        } catch {
            throw KMSError(.invalidCiphertext, "the ciphertext or its encryption context does not match", serviceErrorType: "InvalidCiphertextException")
        }
    }
}
