/// One tenant as `cmkctl status` shows it.
public struct TenantStatus: Sendable, Codable, Equatable {
    public let tenant: String
    public let ticket: String
    public let state: String
    public let generation: Int
    public let regions: [String]
    public let keys: [String]
    public let contextIdentifier: String?
    /// The keys the enrollment brings, while they are not yet the current generation.
    public let enrollingKeys: [String]
    public let waitingFor: String?
    public let execution: String
    public let executionStatus: String
    public let updatedAt: String
    /// The tenant's latest suspension and how long it took to reach every process (nil: never suspended).
    public var lastRevocation: RevocationBound? = nil
    /// What needs the operator's eye now: a revocation check that cannot probe (KMS away, throttled, or
    /// cmkctl's own setup failing) and waits for a retry, with the tenant left as it was.
    public var alerts: [String] = []
    /// The tenant's latest re-encryption: target, status, progress and items it could not move.
    public var reencryption: ReencryptionRecord? = nil
    /// The ledger as the last full scan found it: items per source and generation.
    public var ledger: [LedgerEntry] = []
}
