import ArgumentParser
import CMKEnvelope
import CMKTenant
import Foundation

/// `cmkctl sweep backup`: the scheduled backup of every tenant that is due.
struct SweepBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up every tenant whose newest backup is older than schedules.backupSeconds.",
        discussion: """
            Every tenant with a context identifier (offboarded ones aside) whose newest available backup of its \
            current key generation is older than schedules.backupSeconds (default 86400) gets a backup, as \
            `cmkctl backup` writes it. A tenant whose lifecycle refuses a backup (re-encrypting, suspended) is \
            recorded in the catalogue as skipped, with the reason, and is due again at the next sweep.

            Exit codes: 0 every due tenant was backed up or recorded as skipped, 75 some backups failed (a data \
            source, KMS, the disk; the next sweep tries again), 74 store failure, 78 configuration.
            """)

    @OptionGroup var options: TenantOptions

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        let backups: [BackupSweepResult]
    }

    func run() async throws {
        let results = try await options.storeOptions.withStore(create: false) { store in try await sweep(store) }
        if output.json {
            try printJSON(Report(backups: results))
        } else if results.isEmpty {
            print("no tenant to back up")
        } else {
            print(textTable(["TENANT", "OUTCOME", "BACKUP", "DETAIL"], results.map { result in
                [result.tenant, result.outcome.rawValue, result.backup ?? "-", result.detail].map(\.escapingControlCharacters)
            }))
        }
        let failed = results.filter { $0.outcome == .failed }
        if !failed.isEmpty {
            throw CommandFailure(status: .stillRunning,
                                 message: "\(failed.count) backup(s) failed (\(failed.map(\.tenant).joined(separator: ", "))); the next sweep tries again")
        }
    }

    private func sweep<Store: StoreBackend>(_ store: Store) async throws -> [BackupSweepResult] {
        let runtime = try options.runtime(store)
        return try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            try await runtime.backupService(kms: kms).sweep(cause: Cause(operatorName: operatorName, event: "backup sweep"))
        }
    }
}
