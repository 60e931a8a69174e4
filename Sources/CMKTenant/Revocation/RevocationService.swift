import CMKWorkflow
import Foundation

/// Starts revocation checks: the library behind the KMS event intake, `cmkctl sweep probe` and
/// `cmkctl revoke --check`. A check probes the tenant's keys; only the probe's answer moves the tenant.
public struct RevocationService<Repository: TenantRepository>: Sendable {
    public let journal: any WorkflowJournal
    public let repository: Repository
    public let definition: StateMachineDefinition
    /// How long a pass after an event waits before it is probed again (KMS changes take up to about five
    /// minutes to reach every endpoint).
    public let reprobeSeconds: Double
    public let now: @Sendable () -> Date

    public init(journal: any WorkflowJournal, repository: Repository, definition: StateMachineDefinition,
                reprobeSeconds: Double = 300, now: @escaping @Sendable () -> Date = { Date() }) {
        self.journal = journal
        self.repository = repository
        self.definition = definition
        self.reprobeSeconds = reprobeSeconds
        self.now = now
    }

    /// The execution name of one trigger's check of one tenant.
    public static func executionName(tenant: String, trigger: RevocationTrigger) -> String {
        "revocation-\(tenant)-\(trigger.kind.rawValue)-\(trigger.id)"
    }

    /// Starts the check of `tenant` for `trigger`, or finds the one this trigger already started (the
    /// same event delivered twice is one check). Returns the execution and whether it is new. A check with
    /// `notBefore` (a scheduled sweep's, spread over its period) waits in the journal until then.
    @discardableResult
    public func check(tenant: String, trigger: RevocationTrigger, notBefore: Date? = nil) async throws -> (execution: String, created: Bool) {
        let repository = repository
        guard try await repository.read({ try await repository.tenant(tenant, in: $0) }) != nil else {
            throw TenantError(.tenantUnknown, "tenant \(tenant.escapingControlCharacters) is not registered")
        }
        let execution = Self.executionName(tenant: tenant, trigger: trigger)
        var input: JSONObject = ["tenant": .string(tenant), "trigger": trigger.json, "reprobeSeconds": .number(reprobeSeconds)]
        if let notBefore { input["notBefore"] = .string(notBefore.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))) }
        let started = try await journal.start(name: execution, input: .object(input), definition: definition, now: now())
        return (execution, started.created)
    }
}
