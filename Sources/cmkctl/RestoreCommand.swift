import ArgumentParser
import CMKEnvelope
import CMKTenant
import Foundation

/// `cmkctl restore --tenant ID --backup BID`: writes a backup's items back to their data sources.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Write a tenant backup's items back to their data sources (--dry-run: only count).",
        discussion: """
            Allowed only when every gate passes, checked in this order before anything is written: the backup \
            is of this tenant; its catalogue entry is available (not disabled by a re-encryption, not a skipped \
            one); the tenant is active and its current key generation is the one that wrapped the backup; the \
            file's SHA-256 matches the catalogue; every key of the current generation passes a probe now (the \
            `cmkctl probe` checks, with the tenant's context); and the whole file decrypts. Then each item is \
            put back as it was backed up: a changed item is replaced, a deleted one created again (a table row \
            with only its id, tenant and that column), an identical one left alone. Items added since the backup \
            are not touched; a row of that id that now belongs to another tenant stops the restore. A restore \
            that stopped halfway may simply be run again.
            --dry-run does every check, decrypts the whole file and prints per data source how many items would \
            be updated, created or left unchanged; it writes nothing.

            Exit codes: 0 restored (or dry run done), 4 refused (another tenant's backup, disabled or skipped, \
            another generation, the tenant not active, a key failing its probe), 64 invalid input, 65 the file \
            does not match its digest or does not decrypt, 67 unknown tenant or backup, 74 store or data source \
            failure, 78 configuration, 10-16 the KMS refused the tenant's key while decrypting.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "Tenant id: the tenant the backup was taken of.")
    var tenant: String

    @Option(help: "Backup id (as `cmkctl backups` lists it).")
    var backup: String

    @Flag(name: .customLong("dry-run"), help: "Check and count only; write nothing.")
    var dryRun = false

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
        do { try BackupEntry.checkID(backup) } catch let error as TenantError { throw ValidationError("--backup: \(error.message)") }
    }

    func run() async throws {
        let report = try await options.storeOptions.withStore(create: false) { store in try await restore(store) }
        if output.json {
            try printJSON(report)
            return
        }
        print(report.dryRun ? "dry run: backup \(report.backup) of \(report.tenant) (generation \(report.generation)), \(report.items) items; nothing written"
                            : "restored backup \(report.backup) into \(report.tenant) (generation \(report.generation)): \(report.items) items")
        print(textTable([report.dryRun ? "SOURCE (WOULD)" : "SOURCE", "ITEMS", "UPDATED", "CREATED", "UNCHANGED"], report.sources.map { count in
            [count.source, String(count.items), String(count.updated), String(count.created), String(count.unchanged)]
        }))
    }

    private func restore<Store: StoreBackend>(_ store: Store) async throws -> RestoreReport {
        let runtime = try options.runtime(store)
        return try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            try await runtime.backupService(kms: kms).restore(tenant: tenant, backup: backup, dryRun: dryRun,
                                                              cause: Cause(operatorName: operatorName))
        }
    }
}
