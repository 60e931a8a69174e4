import CMKWorkflow
import Foundation

/// Tells the operator's platform what happened to a tenant, so it can take the tenant's site offline
/// or back online: one JSON notice per event, signed in the Standard Webhooks scheme, posted to
/// `notifications.url`.
///
/// Delivery is a workflow step: at-least-once, retried with backoff by the definition, with the same
/// `webhook-id` and `idempotencyKey` on every attempt so the receiver can drop repeats. cmkctl's
/// libraries know no HTTP: the process gives the transport.
public struct OperatorNotifier: Sendable {
    /// Posts `body` with `headers` to `url` and returns the HTTP status.
    public typealias Transport = @Sendable (_ url: String, _ headers: [(name: String, value: String)], _ body: [UInt8]) async throws -> Int

    /// The notices, by the `type` the receiver sees.
    public enum Notice: String, Sendable, CaseIterable {
        case suspended = "tenant.suspended"
        case reinstated = "tenant.reinstated"
        case reencryptionCompleted = "tenant.reencryption.completed"
        case awaitingCustomer = "tenant.enrollment.awaiting-customer"
        case offboarded = "tenant.offboarded"
    }

    /// What one delivery came to.
    public enum Outcome: Sendable, Equatable {
        case delivered(status: Int)
        case notConfigured
    }

    public let settings: NotificationSettings?
    let transport: Transport?

    public init(settings: NotificationSettings?, transport: Transport?) {
        self.settings = settings
        self.transport = transport
    }

    /// Notifications switched off (no `notifications` in the configuration).
    public static let disabled = OperatorNotifier(settings: nil, transport: nil)

    /// The notice's body: `{type, timestamp, idempotencyKey, data: {tenant, ...}}`.
    public static func body(_ notice: Notice, id: String, tenant: String, data: JSONObject, at date: Date) -> [UInt8] {
        var payload = data
        payload["tenant"] = .string(tenant)
        let document: JSONValue = [
            "type": .string(notice.rawValue), "timestamp": .string(AuditLog.timestamp(date)), "idempotencyKey": .string(id),
            "data": .object(payload),
        ]
        return Array(document.jsonText.utf8)
    }

    /// Delivers one notice. A transport failure or a status outside 2xx is the step's failure
    /// (`Notify.Failed`), which the definition retries; an unreadable secret is `Notify.Misconfigured`.
    public func deliver(_ notice: Notice, id: String, tenant: String, data: JSONObject, at date: Date) async throws -> Outcome {
        guard let settings, let transport else { return .notConfigured }
        let signer: StandardWebhook
        do {
            signer = try settings.signer()
        } catch let error as TenantError {
            throw TaskFailure(error: Self.misconfigured, cause: error.message)
        }
        let body = Self.body(notice, id: id, tenant: tenant, data: data, at: date)
        var headers = signer.headers(id: id, timestamp: date, body: body)
        headers.append(("content-type", "application/json"))
        let status: Int
        do {
            status = try await transport(settings.url, headers, body)
        } catch {
            throw TaskFailure(error: Self.failed, cause: "\(notice.rawValue) to \(settings.url): \(error)")
        }
        guard (200..<300).contains(status) else {
            throw TaskFailure(error: Self.failed, cause: "\(notice.rawValue) to \(settings.url): HTTP \(status)")
        }
        return .delivered(status: status)
    }

    /// The ASL errors of a delivery step.
    public static let failed = "Notify.Failed"
    public static let misconfigured = "Notify.Misconfigured"
}
