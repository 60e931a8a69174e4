/// Where a tenant stands in its lifecycle (design.md section 2); raw values are stored and shown.
public enum TenantState: String, Sendable, Codable, CaseIterable {
    /// Added with `cmkctl tenants add`: on the provider's key (generation 0), with its context
    /// identifier, not yet enrolled.
    case registered
    /// The enrollment workflow has registered the tenant and is validating it.
    case enrolling
    /// The encryption-context identifier is being assigned.
    case assigningContext = "assigning-context"
    /// The key policies are being read and analysed.
    case verifyingPolicy = "verifying-policy"
    /// Something only the customer can fix (policy, disabled key) blocks the enrollment.
    case awaitingCustomer = "awaiting-customer"
    /// Every key is being probed with the tenant's context.
    case probing
    /// Data is moving from the previous key generation to the new one.
    case reencrypting = "re-encrypting"
    /// The tenant's data is under its own keys.
    case active
    /// The enrollment gave up (see the cause); a new ticket may try again.
    case enrollmentFailed = "enrollment-failed"
    /// Access revoked by the tenant: no decrypt, no backup, no restore.
    case suspended
    case offboarded
}
