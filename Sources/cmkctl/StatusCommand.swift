import ArgumentParser
import CMKKMS
import CMKTenant
import Foundation

/// `cmkctl status`: every tenant (or one) with state, key generation, regions and what it waits for.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show tenants: state, key generation, regions, context identifier, what each waits for.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Only this tenant (exit 67 when unknown).")
    var tenant: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    func run() async throws {
        let statuses = try await storeOptions.withOverview { try await $0.status(tenant) }
        if let tenant, statuses.isEmpty { throw TenantError(.unknownTenant, "no tenant \(tenant) in \(storeOptions.locationDescription)") }
        if output.json {
            try printJSON(statuses)
            return
        }
        if statuses.isEmpty { print("no tenants"); return }
        for status in statuses { print(StatusTable.describe(status)) }
    }
}

enum StatusTable {
    /// A few lines per tenant: the headline, then keys, identifier and the wait. Each line is escaped
    /// (`\n`, `\u{1B}`), so a value read from the store cannot add a line or recolour one.
    static func describe(_ status: TenantStatus) -> String {
        var lines = ["\(status.tenant)  \(status.state)  generation \(status.generation)  regions \(status.regions.isEmpty ? "-" : status.regions.joined(separator: ","))  ticket \(status.ticket.isEmpty ? "-" : status.ticket)"]
        if let identifier = status.contextIdentifier { lines.append("  context     \(identifier)") }
        for key in status.keys { lines.append("  key         \(key)") }
        for key in status.enrollingKeys { lines.append("  enrolling   \(key)") }
        if let waitingFor = status.waitingFor { lines.append("  waiting for \(waitingFor)") }
        if status.execution.isEmpty {
            lines.append("  updated     \(status.updatedAt) (not enrolled: on the provider's key)")
        } else {
            lines.append("  workflow    \(status.execution) (\(status.executionStatus)), updated \(status.updatedAt)")
        }
        for alert in status.alerts { lines.append("  alert       \(alert)") }
        if let reencryption = status.reencryption {
            lines.append("  re-encrypt  " + ReencryptionLines.summary(reencryption))
            if reencryption.progress.failureCount > 0 {
                lines.append("  not moved   \(reencryption.progress.failureCount) item(s); first: "
                    + reencryption.progress.failures.prefix(3).map { "\($0.source) \($0.id) \($0.column): \($0.reason)" }.joined(separator: "; "))
            }
        }
        if !status.ledger.isEmpty {
            lines.append("  ledger      " + ReencryptionLines.ledger(status.ledger))
        }
        if let bound = status.lastRevocation {
            var line = "  revocation  suspended \(bound.suspendedAt)"
            if let trigger = bound.trigger { line += " by \(trigger)" }
            if let eventTime = bound.eventTime { line += ", event \(eventTime)" }
            if let probedAt = bound.probedAt { line += ", probed \(probedAt)" }
            if let last = bound.lastPurgeAt, let milliseconds = bound.boundMilliseconds {
                line += "; \(bound.processes) process(es) stopped serving it, the last at \(last): bound \(Int(milliseconds)) ms"
            } else {
                line += "; no long-lived process has acknowledged it (one-shot commands read the store on every call)"
            }
            lines.append(line)
        }
        return lines.map(\.escapingControlCharacters).joined(separator: "\n")
    }
}
