import CMKWorkflow
import Foundation

/// The revocation workflow's names: its definition, its activities, its executions.
public enum RevocationWorkflow {
    /// The workflow name, from `Workflows/revocation.asl.json`.
    public static let name = "revocation"

    /// The activities `RevocationHandlers` registers; definitions are checked against them.
    public static let handlerNames: Set<String> = [
        "revocation-probe", "revocation-suspend", "revocation-reinstate", "revocation-close", "revocation-unconfirmed",
        "revocation-notify", "revocation-notice-undelivered",
    ]

    /// Loads `revocation.asl.json` from `directory` against the revocation handlers.
    public static func loadDefinition(directory: URL) throws -> StateMachineDefinition {
        try DefinitionLoader(handlerNames: handlerNames).load(file: directory.appendingPathComponent("\(name).asl.json"))
    }

    /// The ASL errors the handlers raise (shared with enrollment: the same KMS failure classes).
    public enum ErrorName: String, Sendable, CaseIterable {
        case kmsUnavailable = "KMS.Unavailable"
        case kmsMisconfigured = "KMS.Misconfigured"
        case badInput = "Revocation.BadInput"
    }
}

/// What set a revocation check off. A trigger is only ever a reason to probe: whatever it claims, the
/// tenant is suspended on the probe's answer alone.
public struct RevocationTrigger: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A KMS event posted to `serve` (EventBridge or a Standard Webhooks sender).
        case event
        /// `cmkctl sweep probe` or the server's probe schedule.
        case sweep
        /// An operator's `cmkctl revoke --check`.
        case manual
    }

    public let kind: Kind
    /// Names the execution together with the tenant, so the same event (or sweep run) twice is one check.
    public let id: String
    /// When the event happened, by its sender's clock (EventBridge `time`), for the revocation bound.
    public let eventTime: Date?
    /// What the event said happened (`DisableKey`, `KMS CMK Deletion`, ...), for the record.
    public let summary: String?
    /// The key the event named, as it named it.
    public let key: String?

    public init(kind: Kind, id: String, eventTime: Date? = nil, summary: String? = nil, key: String? = nil) {
        self.kind = kind
        self.id = id
        self.eventTime = eventTime
        self.summary = summary
        self.key = key
    }

    var json: JSONValue {
        var object: JSONObject = ["kind": .string(kind.rawValue), "id": .string(id)]
        if let eventTime { object["eventTime"] = .number(eventTime.timeIntervalSince1970) }
        if let summary { object["summary"] = .string(summary) }
        if let key { object["key"] = .string(key) }
        return .object(object)
    }

    init(_ value: JSONValue) throws {
        guard let kindText = value["kind"]?.stringValue, let kind = Kind(rawValue: kindText), let id = value["id"]?.stringValue else {
            throw TaskFailure(error: RevocationWorkflow.ErrorName.badInput.rawValue, cause: "the revocation input lacks its trigger's kind or id")
        }
        self.init(kind: kind, id: id, eventTime: value["eventTime"]?.numberValue.map(Date.init(timeIntervalSince1970:)),
                  summary: value["summary"]?.stringValue, key: value["key"]?.stringValue)
    }
}
