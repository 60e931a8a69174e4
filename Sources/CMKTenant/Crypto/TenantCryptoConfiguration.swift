import CMKEnvelope
import CMKKMS

/// How `TenantCrypto` writes tenant messages, caches their materials and uses regions.
public struct TenantCryptoConfiguration: Sendable {
    /// Suite, frame length, commitment policy and parsing limits of every tenant message.
    public var envelope: EnvelopeConfiguration
    public var cacheLimits: MaterialsCache.Limits
    /// Minimum regions that must wrap a data key (capped at the generation's region count), wrap
    /// timeout and decrypt hedging.
    public var multiRegion: MultiRegionKeyring.Configuration
    /// The longest a tenant snapshot is reused while a change follower vouches for it (a bound that
    /// holds even if a change were missed); 30 seconds by default.
    public var snapshotMaxAge: Duration

    public init(envelope: EnvelopeConfiguration = EnvelopeConfiguration(), cacheLimits: MaterialsCache.Limits = MaterialsCache.Limits(),
                multiRegion: MultiRegionKeyring.Configuration = MultiRegionKeyring.Configuration(),
                snapshotMaxAge: Duration = .seconds(30)) {
        self.envelope = envelope
        self.cacheLimits = cacheLimits
        self.multiRegion = multiRegion
        self.snapshotMaxAge = snapshotMaxAge
    }
}

/// `TenantCrypto`'s counters, for the metrics endpoint and the benchmarks.
public struct TenantCryptoMetrics: Sendable {
    public let cache: MaterialsCache.Metrics
    /// Every KMS call encrypt and decrypt made (a multi-region wrap is one call per region).
    public let kmsCalls: Int
    public let regions: MultiRegionSnapshot
}

/// A tenant message and the key generation it was written under.
public struct TenantCiphertext: Sendable {
    public let ciphertext: [UInt8]
    public let generation: Int
}

/// A tenant message's plaintext, the context it carried (the tenant pair included) and the key
/// generation it was written under.
public struct TenantPlaintext: Sendable {
    public let plaintext: [UInt8]
    public let encryptionContext: EncryptionContext
    public let generation: Int
}
