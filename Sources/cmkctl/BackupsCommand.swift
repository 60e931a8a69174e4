import ArgumentParser
import CMKEnvelope
import CMKTenant
import Foundation

/// `cmkctl backups`: the backup catalogue, with each entry's status.
struct BackupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "List the backup catalogue: every backup (or one tenant's) with its generation, size and status.",
        discussion: """
            One row per catalogue entry, oldest first: its id, tenant, key generation, time (UTC), items, bytes, \
            status and reason. Status: available (restorable while the tenant's current generation is the \
            backup's), disabled (a re-encryption moved the tenant to a newer generation: never restored), skipped \
            (a scheduled backup the tenant's lifecycle refused, with the reason; no file).

            Exit codes: 0 listed, 64 invalid input, 74 store failure.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "Only this tenant's backups.")
    var tenant: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    func run() async throws {
        let directory = try options.configuration().backupDirectory
        let entries = try await options.storeOptions.withStore(create: false) { store in
            try await store.repository.backups(tenant: tenant)
        }
        if output.json {
            try printJSON(entries.map { BackupJSON($0, directory: directory) })
        } else if entries.isEmpty {
            print(tenant.map { "no backups of \($0)" } ?? "no backups")
        } else {
            print(textTable(["ID", "TENANT", "GENERATION", "TIME", "ITEMS", "BYTES", "STATUS", "REASON"], entries.map { entry in
                [entry.id, entry.tenant, String(entry.generation), AuditLog.timestamp(entry.createdAt), String(entry.items),
                 String(entry.bytes), entry.status.rawValue, entry.reason ?? ""].map(\.escapingControlCharacters)
            }))
        }
    }
}
