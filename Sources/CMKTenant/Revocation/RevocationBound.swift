import Foundation

/// How long a tenant's last revocation took to take effect everywhere: from the KMS event (when one
/// set the check off) through our probe and the suspension to the last process that stopped serving
/// the tenant (its purge acknowledgement).
public struct RevocationBound: Sendable, Codable, Equatable {
    /// What set the check off (`event <id>`, `sweep <run>`).
    public let trigger: String?
    public let eventTime: String?
    public let probedAt: String?
    public let suspendedAt: String
    /// How many processes acknowledged the purge, and when the last one did.
    public let processes: Int
    public let lastPurgeAt: String?
    /// Event (or, without one, suspension) to the last process's purge, in milliseconds.
    public let boundMilliseconds: Double?

    /// The bound of the tenant's latest suspension, from its audit entries and the purge records.
    static func latest(entries: [AuditEntry], purges: [PurgeAcknowledgement]) -> RevocationBound? {
        guard let suspension = entries.last(where: { $0.kind == .transition && $0.action.hasSuffix("-> suspended") }) else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let suspendedText = suspension.detail["suspendedAt"] ?? suspension.at
        guard let suspendedAt = formatter.date(from: suspendedText) else { return nil }
        // The purges of this suspension: acknowledged for the record written at that moment.
        let mine = purges.filter { abs($0.suspendedAt.timeIntervalSince(suspendedAt)) < 0.002 }
        let last = mine.map(\.purgedAt).max()
        let start = suspension.detail["eventTime"].flatMap { formatter.date(from: $0) } ?? suspendedAt
        return RevocationBound(
            trigger: suspension.detail["trigger"], eventTime: suspension.detail["eventTime"], probedAt: suspension.detail["probedAt"],
            suspendedAt: suspendedText, processes: Set(mine.map(\.process)).count, lastPurgeAt: last.map(AuditLog.timestamp),
            boundMilliseconds: last.map { (($0.timeIntervalSince(start)) * 1000).rounded() })
    }
}
