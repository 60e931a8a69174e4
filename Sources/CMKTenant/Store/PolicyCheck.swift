import Foundation

/// The latest analysis of one key's policy for a tenant, kept for `status` and the customer's fix.
public struct PolicyCheck: Sendable, Equatable {
    public var tenant: String
    public var keyARN: String
    public var checkedAt: Date
    /// Whether the report has blocking findings.
    public var blocking: Bool
    /// The `PolicyReport` as canonical JSON.
    public var report: String

    public init(tenant: String, keyARN: String, checkedAt: Date, blocking: Bool, report: String) {
        self.tenant = tenant
        self.keyARN = keyARN
        self.checkedAt = checkedAt
        self.blocking = blocking
        self.report = report
    }
}
