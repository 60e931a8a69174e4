/// Who or what caused a lifecycle change: recorded with every transition and every audit entry.
public struct Cause: Sendable, Equatable, Codable {
    /// The support ticket the work is done for.
    public var ticket: String?
    /// The person or system account that ran the command.
    public var operatorName: String?
    /// A webhook or signal event id.
    public var event: String?
    /// The workflow execution doing the work, and its step's idempotency key.
    public var execution: String?

    public init(ticket: String? = nil, operatorName: String? = nil, event: String? = nil, execution: String? = nil) {
        self.ticket = ticket
        self.operatorName = operatorName
        self.event = event
        self.execution = execution
    }

    enum CodingKeys: String, CodingKey {
        case ticket, operatorName = "operator", event, execution
    }

    /// `ticket SUP-1 by alice (enroll-acme/Verify/1)`, for timelines.
    public var summary: String {
        var parts: [String] = []
        if let ticket { parts.append("ticket \(ticket)") }
        if let operatorName { parts.append("by \(operatorName)") }
        if let event { parts.append("event \(event)") }
        if let execution { parts.append("(\(execution))") }
        return parts.joined(separator: " ")
    }
}
