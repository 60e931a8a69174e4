/// One line of a tenant's timeline: a workflow event or an audit entry.
public struct TenantTimelineEntry: Sendable, Codable, Equatable {
    public let at: String
    public let source: String
    public let what: String
    public let detail: String
}
