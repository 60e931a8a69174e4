import Foundation

/// One tenant as the store keeps it.
public struct TenantRecord: Sendable, Equatable, Codable {
    public var id: String
    /// The ticket of the tenant's latest enrollment; empty for a tenant added but never enrolled.
    public var ticket: String
    public var tag: String
    /// Assigned once, by `tenants add` or the enrollment workflow; nil before that.
    public var contextIdentifier: String?
    public var state: TenantState
    /// The key generation the tenant's data is under (0 = the provider's key).
    public var generation: Int
    /// What the tenant's workflow is waiting for, in words; nil when nothing.
    public var waitingFor: String?
    /// The latest enrollment's workflow execution; empty for a tenant added but never enrolled.
    public var execution: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, ticket: String, tag: String, contextIdentifier: String?, state: TenantState, generation: Int,
                waitingFor: String?, execution: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.ticket = ticket
        self.tag = tag
        self.contextIdentifier = contextIdentifier
        self.state = state
        self.generation = generation
        self.waitingFor = waitingFor
        self.execution = execution
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The lifecycle machine at this tenant's state and generation: its moves and gates.
    public var lifecycle: TenantLifecycle { TenantLifecycle(state: state, generation: generation) }
}
