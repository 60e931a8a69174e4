import Foundation

/// One enrollment per tenant at a time: the ticket that claimed the tenant, its execution, and how it ended.
///
/// The enrollment's last steps record the outcome here, so the domain never reads the engine's tables to
/// learn it; an execution that ended without reaching them (cancelled, timed out) leaves it nil, and its
/// snapshot in the journal says the rest.
public struct EnrollmentClaim: Sendable, Equatable {
    /// How the claim's enrollment ended.
    public enum Outcome: String, Sendable, Codable {
        case succeeded
        case failed
    }

    public var tenant: String
    public var ticket: String
    public var execution: String
    public var requestedAt: Date
    /// Nil while the enrollment runs (or when it ended without reaching its last steps).
    public var outcome: Outcome?

    public init(tenant: String, ticket: String, execution: String, requestedAt: Date, outcome: Outcome? = nil) {
        self.tenant = tenant
        self.ticket = ticket
        self.execution = execution
        self.requestedAt = requestedAt
        self.outcome = outcome
    }
}
