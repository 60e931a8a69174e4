import ArgumentParser
import CMKEnvelope
import CMKTenant
import Foundation

/// `cmkctl backup --tenant ID`: one encrypted backup of every item of the tenant, with its catalogue entry.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up a tenant's items from every data source into one encrypted file.",
        discussion: """
            Reads every item of the tenant from each data source of the operator configuration (dataSources) and \
            writes them as JSON lines (source, id, column, the stored ciphertext in base64), encrypted as one \
            framed AWS Encryption SDK message under the tenant's current key generation and its context (plus \
            {"cmkctl-backup": ID}), into backupDirectory/TENANT/ID.backup. The file appears only when complete \
            (a temporary file renamed into place) and is recorded in the catalogue with its generation, item \
            count, size and SHA-256 (`cmkctl backups` lists them).
            Refused while the tenant is re-encrypting (its items are moving between generations), suspended \
            (its key is revoked) or offboarded. A backup cannot be restored once a re-encryption moved the \
            tenant to a newer generation: it is disabled then.

            Exit codes: 0 written, 4 refused by the tenant's lifecycle, 64 invalid input, 67 unknown tenant, \
            74 store or data source failure, 78 configuration (operator configuration, backup directory, the \
            KMS setup), 10-16 the KMS refused the tenant's key.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "Tenant id.")
    var tenant: String

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    func run() async throws {
        let (entry, directory) = try await options.storeOptions.withStore(create: false) { store in try await backup(store) }
        if output.json {
            try printJSON(BackupJSON(entry, directory: directory))
        } else {
            print("backup \(entry.id) of \(tenant): generation \(entry.generation), \(entry.items) items, \(entry.bytes) bytes")
            print("file: \(directory)/\(entry.fileName ?? "-")".escapingControlCharacters)
            print("sha256: \(entry.sha256 ?? "-")")
        }
    }

    private func backup<Store: StoreBackend>(_ store: Store) async throws -> (BackupEntry, String) {
        let runtime = try options.runtime(store)
        return try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            let service = try runtime.backupService(kms: kms)
            return (try await service.backup(tenant: tenant, cause: Cause(operatorName: operatorName)), service.directory)
        }
    }
}
