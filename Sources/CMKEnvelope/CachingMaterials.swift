/// A provider that serves materials from a `MaterialsCache` and asks the provider under it only on
/// a miss or a background refresh.
///
/// Not cached, as in the AWS Encryption SDK: encryption for signed suites (every message needs its
/// own signing key, and a shared one would let any holder of the entry sign as the others), a
/// plaintext of unknown size (it could not be counted against the byte limits), and a plaintext that
/// alone reaches the byte limit (it would use the entry up for smaller messages).
public struct CachingMaterials: MaterialsProvider {
    public let underlying: any MaterialsProvider
    public let cache: MaterialsCache
    public let partition: MaterialsCache.Partition

    public init(underlying: some MaterialsProvider, cache: MaterialsCache, partition: MaterialsCache.Partition) {
        self.underlying = underlying
        self.cache = cache
        self.partition = partition
    }

    public func encryptionMaterials(for request: EncryptionMaterialsRequest) async throws -> EncryptionMaterials {
        let underlying = self.underlying
        guard !request.suite.isSigned, let length = request.plaintextLength, length >= 0,
              UInt64(length) < cache.limits.maxBytes else {
            await cache.recordBypass()
            return try await underlying.encryptionMaterials(for: request)
        }
        let key = try MaterialsCache.EntryKey.encryption(partition, suite: request.suite, context: request.encryptionContext)
        let materials = try await cache.materials(for: key, usage: .init(messages: 1, bytes: UInt64(length))) {
            .encryption(try await underlying.encryptionMaterials(for: request))
        }
        guard case .encryption(let encryption) = materials else {
            throw EnvelopeError(.misuse, "the materials cache returned decryption materials for an encryption")
        }
        return encryption
    }

    public func decryptionMaterials(for request: DecryptionMaterialsRequest) async throws -> DecryptionMaterials {
        let underlying = self.underlying
        let key = try MaterialsCache.EntryKey.decryption(partition, suite: request.suite, encryptedDataKeys: request.encryptedDataKeys,
                                                         context: request.encryptionContext)
        let materials = try await cache.materials(for: key, usage: .none) {
            .decryption(try await underlying.decryptionMaterials(for: request))
        }
        guard case .decryption(let decryption) = materials else {
            throw EnvelopeError(.misuse, "the materials cache returned encryption materials for a decryption")
        }
        return decryption
    }
}
