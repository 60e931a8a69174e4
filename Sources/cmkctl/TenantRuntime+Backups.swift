import CMKTenant
import Foundation

extension TenantRuntime {
    /// The backup service over this store: the tenant's crypto, the KMS clients for the restore's
    /// probe, and every kind of data source through `DataSourceOpener`.
    func backupService(kms: TenantKMS) throws -> BackupService<Store.Repository> {
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms)
        return BackupService(crypto: crypto, kms: kms, openSource: { configuration in try await DataSourceOpener.open(configuration) })
    }
}

/// A catalogue entry as `--json` prints it: times in RFC 3339, the file's full path.
struct BackupJSON: Encodable {
    let id: String
    let tenant: String
    let generation: Int
    let createdAt: String
    let items: Int
    let bytes: Int64
    let sha256: String?
    let file: String?
    let status: String
    let reason: String?

    init(_ entry: BackupEntry, directory: String) {
        id = entry.id
        tenant = entry.tenant
        generation = entry.generation
        createdAt = AuditLog.timestamp(entry.createdAt)
        items = entry.items
        bytes = entry.bytes
        sha256 = entry.sha256
        file = entry.fileName.map { directory + "/" + $0 }
        status = entry.status.rawValue
        reason = entry.reason
    }
}
