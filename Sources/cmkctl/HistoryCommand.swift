import ArgumentParser
import CMKTenant
import Foundation

/// `cmkctl history --tenant ID`: the tenant's journaled timeline, workflow steps and audit entries merged.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Print a tenant's timeline: workflow events, lifecycle transitions and KMS calls.")

    @OptionGroup var options: TenantOptions

    @Option(help: "Tenant id.")
    var tenant: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await runTenantCommand {
            let runtime = try options.open(create: false)
            let timeline = try await runtime.overview.history(tenant: tenant)
            if timeline.isEmpty { throw TenantError(.unknownTenant, "no history for tenant \(tenant)") }
            if json {
                try printJSON(timeline)
                return
            }
            for entry in timeline {
                print("\(entry.at)  \(entry.what.count < 48 ? entry.what.padding(toLength: 48, withPad: " ", startingAt: 0) : entry.what) \(entry.detail)  <\(entry.source)>")
            }
        }
    }
}
