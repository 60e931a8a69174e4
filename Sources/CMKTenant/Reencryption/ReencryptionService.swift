import CMKWorkflow
import Foundation

/// Starts re-encryptions: what an enrollment's or rotation's hand-over, `cmkctl reencrypt` and the
/// sweep call. One execution per tenant and target generation; starting it again joins it.
public struct ReencryptionService<Repository: TenantRepository>: Sendable {
    public let journal: any WorkflowJournal
    public let repository: Repository
    public let definition: StateMachineDefinition
    public let settings: ReencryptionSettings
    public let now: @Sendable () -> Date

    public init(journal: any WorkflowJournal, repository: Repository, definition: StateMachineDefinition,
                settings: ReencryptionSettings = ReencryptionSettings(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.journal = journal
        self.repository = repository
        self.definition = definition
        self.settings = settings
        self.now = now
    }

    /// Starts the re-encryption of `tenant` to its current generation, or joins the one running for
    /// it; a failed or cancelled one is started afresh under the next attempt's name. A completed one
    /// is joined (a repeated hand-over changes nothing) unless `again`: an operator's `reencrypt` after
    /// items were left behind (restored, or written by an application with stale keys) runs a new pass.
    @discardableResult
    public func start(tenant: String, cause: Cause, again: Bool = false) async throws -> (execution: String, created: Bool) {
        guard let record = try await repository.tenant(tenant) else {
            throw TenantError(.tenantUnknown, "tenant \(tenant.escapingControlCharacters) is not registered")
        }
        guard record.state != .offboarded else {
            throw TenantError(.illegalTransition, "tenant \(tenant.escapingControlCharacters) is offboarded: nothing of it is re-encrypted")
        }
        let target = record.generation
        var attempt = 1
        while true {
            let name = ReencryptionWorkflow.executionName(tenant: tenant, target: target, attempt: attempt)
            if let existing = try await journal.execution(named: name),
               existing.status == .failed || existing.status == .cancelled || existing.status == .timedOut || (again && existing.status == .succeeded) {
                attempt += 1
                continue
            }
            var input: JSONObject = ["tenant": .string(tenant), "target": .number(Double(target))]
            if case .object(let knobs) = settings.json { for (key, value) in knobs { input[key] = value } }
            if let ticket = cause.ticket { input["ticket"] = .string(ticket) }
            if let operatorName = cause.operatorName { input["operator"] = .string(operatorName) }
            let started = try await journal.start(name: name, input: .object(input), definition: definition, now: now())
            return (name, started.created)
        }
    }
}
