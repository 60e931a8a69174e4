import Crypto
import Foundation

/// An API key an EventBridge API destination sends in a header (`X-Cmk-Api-Key`), issued for one
/// tenant: it only ever lets that tenant's keys be probed. Only its SHA-256 is stored; the key itself
/// is printed once, when issued.
public struct WebhookKey: Sendable, Equatable {
    /// A short public name (`whk_` and 12 hex digits), for listing and revoking.
    public let id: String
    public let tenant: String
    /// SHA-256 of the key, hex.
    public let hash: String
    public let createdAt: Date
    public var revokedAt: Date?

    public init(id: String, tenant: String, hash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.tenant = tenant
        self.hash = hash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// A new key for `tenant`: the record to store and the secret to print once (`cmkwh_` and 43
    /// base64url characters of 32 random bytes).
    public static func issue(tenant: String, at date: Date) -> (record: WebhookKey, secret: String) {
        let random = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let secret = "cmkwh_" + random.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let hash = Self.hash(of: secret)
        return (WebhookKey(id: "whk_" + hash.prefix(12), tenant: tenant, hash: hash, createdAt: date), secret)
    }

    /// The stored form of a presented key.
    public static func hash(of secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// An event the intake has recorded, by the scope it came in under and its id: the same event again is
/// acknowledged and does nothing more.
public struct ReceivedEvent: Sendable, Equatable {
    /// `<scope>:<event id>`: the tenant of the API key, or `signed` for a Standard Webhooks sender.
    public let key: String
    public let receivedAt: Date
    /// What the event said (`DisableKey`, `KMS CMK Deletion`, ...).
    public let summary: String
    /// `accepted`, or `ignored: <why>`.
    public let outcome: String
    /// The tenants whose keys it named (and that were checked).
    public let tenants: [String]

    public init(key: String, receivedAt: Date, summary: String, outcome: String, tenants: [String]) {
        self.key = key
        self.receivedAt = receivedAt
        self.summary = summary
        self.outcome = outcome
        self.tenants = tenants
    }
}

/// One process's word that it stopped serving a suspended (or offboarded) tenant: the last of them is
/// the end of the revocation bound.
public struct PurgeAcknowledgement: Sendable, Equatable {
    public let tenant: String
    /// The process (`serve` on a host, with its pid).
    public let process: String
    /// When the suspension it saw was written (the tenant's `updatedAt`).
    public let suspendedAt: Date
    /// When this process dropped the tenant's snapshot and data keys.
    public let purgedAt: Date

    public init(tenant: String, process: String, suspendedAt: Date, purgedAt: Date) {
        self.tenant = tenant
        self.process = process
        self.suspendedAt = suspendedAt
        self.purgedAt = purgedAt
    }
}
