import Foundation

/// One tenant as the store keeps it.
public struct TenantRecord: Sendable, Equatable, Codable {
    public var id: String
    /// The ticket of the enrollment that created it.
    public var ticket: String
    public var tag: String
    /// Assigned once by the enrollment workflow; nil before that step.
    public var contextIdentifier: String?
    public var state: TenantState
    /// The key generation the tenant's data is under (0 = the provider's key).
    public var generation: Int
    /// What the tenant's workflow is waiting for, in words; nil when nothing.
    public var waitingFor: String?
    /// The enrollment workflow execution.
    public var execution: String
    public var createdAt: Date
    public var updatedAt: Date
}
