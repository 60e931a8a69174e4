import ArgumentParser
import CMKKMS
import CMKTenant
import Foundation

/// `cmkctl history --tenant ID`: the tenant's journaled timeline, workflow steps and audit entries merged.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Print a tenant's timeline: workflow events, lifecycle transitions and KMS calls.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Tenant id.")
    var tenant: String

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    func run() async throws {
        let timeline = try await storeOptions.withOverview { try await $0.history(tenant) }
        if timeline.isEmpty { throw TenantError(.unknownTenant, "no history for tenant \(tenant)") }
        if output.json {
            try printJSON(timeline)
            return
        }
        for entry in timeline { print(Self.line(entry)) }
    }

    /// One timeline line; the entry's text (operator names, ARNs, KMS errors from the store) is
    /// escaped, so it cannot start another line or steer the terminal.
    static func line(_ entry: TenantOverview.TimelineEntry) -> String {
        let what = entry.what.escapingControlCharacters
        let padded = what.count < 48 ? what.padding(toLength: 48, withPad: " ", startingAt: 0) : what
        return "\(entry.at.escapingControlCharacters)  \(padded) \(entry.detail.escapingControlCharacters)  <\(entry.source.escapingControlCharacters)>"
    }
}
