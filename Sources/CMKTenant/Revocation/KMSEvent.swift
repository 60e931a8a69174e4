import CMKKMS
import Foundation

/// A KMS event as EventBridge delivers it (API destinations post the whole event), read strictly, and
/// what it can mean for a tenant: a reason to probe, never evidence.
///
/// Handled: `KMS CMK Deletion` and `KMS Imported Key Material Expiration` (can revoke), `KMS CMK
/// Rotation` (cannot), and CloudTrail records from `kms.amazonaws.com` (`AWS API Call via CloudTrail`,
/// `AWS Service Event via CloudTrail`) whose call can revoke or restore access. A call that failed
/// (`detail.errorCode`) changed nothing and is ignored. Keys are found in `resources[]`,
/// `detail.resources[].ARN`, `detail.requestParameters.keyId`, `detail.responseElements.keyId`,
/// `detail.serviceEventDetails.keyId`, `detail.additionalEventData.keyId` and `detail.key-id`, as
/// ARNs, bare key ids (placed in the event's account and region) or aliases (which cannot be mapped).
public struct KMSEvent: Sendable, Equatable {
    /// Calls after which a key may no longer work for us.
    public static let revokingCalls: Set<String> = [
        "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "RevokeGrant", "RetireGrant", "DeleteImportedKeyMaterial",
        "UpdatePrimaryRegion", "DeleteKey",
    ]
    /// Calls after which a key may work again (a suspended tenant is probed at once).
    public static let restoringCalls: Set<String> = ["EnableKey", "CancelKeyDeletion", "PutKeyPolicy", "ImportKeyMaterial"]
    /// The largest body the intake reads.
    public static let maximumSize = 1_048_576

    public let id: String
    public let detailType: String
    public let source: String
    public let account: String
    public let region: String
    public let time: Date?
    /// The CloudTrail call (`DisableKey`, ...), or the detail type for KMS's own events.
    public let summary: String
    /// Whether the event calls for a probe of the tenants whose keys it names, and if not, why not.
    public let relevance: Relevance
    /// The keys the event names that parse as key ARNs (bare ids placed in its account and region).
    public let keys: [KeyARN]
    /// Key references that could not be mapped to a key ARN (aliases, malformed values), for the record.
    public let unmapped: [String]

    public enum Relevance: Sendable, Equatable {
        case mayRevoke
        case mayRestore
        case ignored(String)

        public var callsForProbe: Bool {
            if case .ignored = self { return false }
            return true
        }
    }

    /// Parses an event; a body that is not one is `invalid-input` naming what is wrong.
    public init(parsing body: [UInt8]) throws {
        guard body.count <= Self.maximumSize else {
            throw TenantError(.invalidInput, "the event is larger than \(Self.maximumSize) bytes")
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: String(decoding: body, as: UTF8.self))
        } catch {
            throw TenantError(.invalidInput, "the event is not JSON: \(error)")
        }
        func text(_ field: String) throws -> String {
            guard let text = value[field]?.stringValue, !text.isEmpty, text.count <= 256 else {
                throw TenantError(.invalidInput, "the event has no \(field) (a string of at most 256 characters)")
            }
            return text
        }
        id = try text("id")
        detailType = try text("detail-type")
        source = try text("source")
        account = try text("account")
        region = try text("region")
        guard case .object? = value["detail"] else { throw TenantError(.invalidInput, "the event has no detail object") }
        time = value["time"]?.stringValue.flatMap(Self.parseTime)
        let detail = value["detail"]!

        var references: [String] = []
        for resource in value["resources"]?.arrayValue ?? [] {
            if let arn = resource.stringValue { references.append(arn) }
        }
        for resource in detail["resources"]?.arrayValue ?? [] {
            if let arn = resource["ARN"]?.stringValue { references.append(arn) }
        }
        for container in ["requestParameters", "responseElements", "serviceEventDetails", "additionalEventData"] {
            if let keyID = detail[container]?["keyId"]?.stringValue { references.append(keyID) }
            if let keyID = detail[container]?["keyMetadata"]?["arn"]?.stringValue { references.append(keyID) }
        }
        if let keyID = detail["key-id"]?.stringValue { references.append(keyID) }

        var keys: [KeyARN] = []
        var unmapped: [String] = []
        for reference in references {
            let parsed: KeyARN? =
                reference.hasPrefix("arn:")
                ? try? KeyARN(validating: reference, allowAlias: true)
                : try? KeyARN(region: region, account: account, keyID: reference)
            if let parsed, !parsed.isAlias {
                if !keys.contains(parsed) { keys.append(parsed) }
            } else if !unmapped.contains(reference) {
                unmapped.append(String(reference.prefix(300)))
            }
        }
        self.keys = keys
        self.unmapped = unmapped

        switch detailType {
        case "KMS CMK Deletion", "KMS Imported Key Material Expiration":
            summary = detailType
            relevance = .mayRevoke
        case "AWS API Call via CloudTrail", "AWS Service Event via CloudTrail":
            let name = detail["eventName"]?.stringValue ?? "?"
            summary = name
            if detail["eventSource"]?.stringValue != "kms.amazonaws.com" {
                relevance = .ignored("not a KMS call (\(detail["eventSource"]?.stringValue ?? "no eventSource"))")
            } else if let error = detail["errorCode"]?.stringValue {
                relevance = .ignored("the call failed (\(error)) and changed nothing")
            } else if Self.revokingCalls.contains(name) {
                relevance = .mayRevoke
            } else if Self.restoringCalls.contains(name) {
                relevance = .mayRestore
            } else {
                relevance = .ignored("\(name) cannot revoke or restore a key")
            }
        default:
            summary = detailType
            relevance = .ignored("\(detailType) cannot revoke or restore a key")
        }
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// Whether the event names `keyARN` (a tenant's generation key).
    public func names(_ keyARN: String) -> Bool {
        guard let key = try? KeyARN(validating: keyARN, allowAlias: true) else { return false }
        return keys.contains(key)
    }
}
