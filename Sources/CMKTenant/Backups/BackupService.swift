import CMKEnvelope
import CMKKMS
import Crypto
import Foundation

/// Opens a configured data source; the CLI passes the one function that knows every kind
/// (CMKTenant knows no database library).
public typealias DataSourceOpening = @Sendable (DataSourceConfiguration) async throws -> any DataSource

/// Backs a tenant's items up into one encrypted file, and restores them, gated by the key lifecycle
/// (design.md section 6).
///
/// A backup is every item of the tenant in every configured data source, as JSON lines (source, id,
/// column, the stored ciphertext), encrypted as one framed message under the tenant's current
/// generation with its context plus `{"cmkctl-backup": id}`, so a file renamed to another backup's
/// name does not decrypt. It is streamed (memory holds one page and one frame, whatever the tenant's
/// size), written to a temporary file, renamed into the backup directory, and only then recorded in
/// the catalogue with its SHA-256.
///
/// The lifecycle decides: no backup while the tenant is re-encrypting, suspended or offboarded; a
/// restore only into the same, active tenant whose current generation wrote the backup, whose keys
/// pass a probe now, from an `available` entry whose file matches its digest. The whole file is
/// decrypted and verified before anything is written back.
public struct BackupService<Repository: TenantRepository>: Sendable {
    public let crypto: TenantCrypto<Repository>
    private let kms: TenantKMS
    private let openSource: DataSourceOpening
    private let now: @Sendable () -> Date
    /// Rows read (and items written back) per data source call.
    public let pageSize: Int

    /// The context pair naming the backup inside its message.
    public static var contextKey: String { "cmkctl-backup" }
    /// Plaintext gathered before it is handed to the encryptor (a few frames).
    static var flushBytes: Int { 1 << 16 }

    public init(crypto: TenantCrypto<Repository>, kms: TenantKMS, openSource: @escaping DataSourceOpening, pageSize: Int = 500,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.crypto = crypto
        self.kms = kms
        self.openSource = openSource
        self.pageSize = max(1, pageSize)
        self.now = now
    }

    var repository: Repository { crypto.repository }
    var configuration: OperatorConfiguration { crypto.operatorConfiguration }

    /// The backup directory of the operator configuration.
    public var directory: String { configuration.backupDirectory }

    // MARK: Backup

    /// Writes a backup of every item of `tenant` and records it; refused (`backup-refused`) while the
    /// tenant is re-encrypting, suspended or offboarded.
    public func backup(tenant: String, cause: Cause) async throws -> BackupEntry {
        let record = try await backupGate(tenant)
        let id = BackupEntry.newID(at: now())
        let context = try EncryptionContext([(Self.contextKey, id)])
        var encryptor = try await crypto.encryptor(tenant: tenant, context: context, plaintextLength: nil)
        guard encryptor.generation == record.generation else { throw Self.generationMoved(tenant) }

        let folder = directory + "/" + tenant
        let fileName = tenant + "/" + id + ".backup"
        let temporary = folder + "/.partial-" + id
        let final = directory + "/" + fileName
        let file = try BackupFileWriter(creating: temporary, folder: folder)
        var renamed = false
        do {
            var items = 0
            var plaintext: [UInt8] = []
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for sourceConfiguration in configuration.dataSources {
                try await withSource(sourceConfiguration) { source in
                    var cursor: ItemID?
                    while true {
                        let page = try await source.batch(tenant: tenant, after: cursor, limit: pageSize)
                        for item in page.items {
                            plaintext.append(contentsOf: try encoder.encode(BackupLine(source: sourceConfiguration.name, item: item)))
                            plaintext.append(0x0A)
                            items += 1
                        }
                        if plaintext.count >= Self.flushBytes {
                            try file.write(try encryptor.update(plaintext))
                            plaintext.removeAll(keepingCapacity: true)
                        }
                        guard let last = page.last else { break }
                        cursor = last
                    }
                }
            }
            try file.write(try encryptor.update(plaintext))
            try file.write(try encryptor.finish())
            let (bytes, digest) = try file.close()

            // A re-encryption or suspension that began during the export wins: the file is dropped.
            let after = try await backupGate(tenant)
            guard after.generation == record.generation else { throw Self.generationMoved(tenant) }
            guard rename(temporary, final) == 0 else {
                throw TenantError(.storeFailure, "cannot move the backup file into \(final): \(String(cString: strerror(errno)))")
            }
            renamed = true
            let entry = BackupEntry(id: id, tenant: tenant, generation: record.generation, createdAt: now(), items: items, bytes: bytes,
                                    sha256: digest, fileName: fileName, status: .available, reason: nil)
            let repository = self.repository
            try await repository.write { transaction in
                try await repository.insertBackup(entry, in: transaction)
                _ = try await AuditLog.append(repository, in: transaction, tenant: tenant, kind: .request, action: "backup taken",
                                              detail: ["backup": id, "generation": String(entry.generation), "items": String(entry.items),
                                                       "bytes": String(entry.bytes), "sha256": digest],
                                              cause: cause, at: entry.createdAt)
            }
            return entry
        } catch {
            file.abandon()
            try? FileManager.default.removeItem(atPath: renamed ? final : temporary)
            throw error
        }
    }

    /// The tenant's record when its lifecycle allows a backup now.
    func backupGate(_ tenant: String) async throws -> TenantRecord {
        guard let record = try await repository.tenant(tenant) else {
            throw TenantError(.tenantUnknown, "tenant \(tenant.escapingControlCharacters) is not registered")
        }
        if let reason = Self.backupRefusal(record) {
            throw TenantError(.backupRefused, "backup of tenant \(tenant.escapingControlCharacters) refused: \(reason)")
        }
        return record
    }

    /// Why the lifecycle refuses a backup of the tenant now, in words; nil when it allows one.
    public static func backupRefusal(_ record: TenantRecord) -> String? {
        guard !record.lifecycle.allows(.backup) else { return nil }
        return switch record.state {
        case .reencrypting:
            "the tenant is re-encrypting: its items are moving between key generations, so backups are skipped until the re-encryption completes"
        case .suspended:
            "the tenant is suspended (its key was revoked): no backup is taken until a passing probe reinstates it"
        case .offboarded:
            "the tenant is offboarded"
        default:
            "the tenant is \(record.state.rawValue)"
        }
    }

    static func generationMoved(_ tenant: String) -> TenantError {
        TenantError(.backupRefused, "backup of tenant \(tenant.escapingControlCharacters) refused: its key generation changed while the backup was written; try again")
    }

    // MARK: Scheduled backups

    /// Backs up every tenant (except offboarded ones and those without a context identifier) whose
    /// newest available backup of its current generation is older than `schedules.backupSeconds`. A
    /// tenant the lifecycle refuses is recorded in the catalogue as `skipped`, with the reason; other
    /// failures are reported and left for the next sweep. A run that did anything is journaled in the audit
    /// trail (`recordRun`), which `cmkctl sweeps` reads.
    public func sweep(cause: Cause) async throws -> [BackupSweepResult] {
        let started = now()
        let period = configuration.schedules.backupSeconds
        let tenants = try await repository.tenants().filter { $0.state != .offboarded && $0.contextIdentifier != nil }
        let catalogue = try await repository.backups(tenant: nil)
        var results: [BackupSweepResult] = []
        for record in tenants {
            let newest = catalogue.last(where: { $0.tenant == record.id && $0.status == .available && $0.generation == record.generation })
            if let newest, now().timeIntervalSince(newest.createdAt) < period {
                results.append(BackupSweepResult(tenant: record.id, outcome: .notDue, backup: newest.id,
                                                 detail: "newest backup \(newest.id) is younger than \(Int(period)) s"))
                continue
            }
            do {
                let entry = try await backup(tenant: record.id, cause: cause)
                results.append(BackupSweepResult(tenant: record.id, outcome: .backedUp, backup: entry.id,
                                                 detail: "\(entry.items) items, \(entry.bytes) bytes, generation \(entry.generation)"))
            } catch let error as TenantError where error.code == .backupRefused {
                let current = try await repository.tenant(record.id) ?? record
                let reason = Self.backupRefusal(current) ?? error.message
                let entry = try await recordSkipped(current, reason: reason, cause: cause)
                results.append(BackupSweepResult(tenant: record.id, outcome: .skipped, backup: entry.id, detail: reason))
            } catch {
                results.append(BackupSweepResult(tenant: record.id, outcome: .failed, backup: nil, detail: ErrorSentence.describing(error)))
            }
        }
        try await recordRun(results, startedAt: started, cause: cause)
        return results
    }

    /// The audit action of a backup sweep's run record, which `cmkctl sweeps` lists.
    public static var sweepAction: String { "backup sweep" }

    /// Journals a sweep that did something (backed up, skipped or failed a tenant) as one operator-level audit
    /// entry: its run, counts per outcome and the tenants affected. A run that found nothing due is left out,
    /// so a server checking every quarter period does not fill the trail.
    func recordRun(_ results: [BackupSweepResult], startedAt: Date, cause: Cause) async throws {
        guard results.contains(where: { $0.outcome != .notDue }) else { return }
        var detail: [String: String] = ["run": "backup-\(Int(startedAt.timeIntervalSince1970))", "tenants": String(results.count)]
        for outcome in [BackupSweepResult.Outcome.backedUp, .skipped, .notDue, .failed] {
            let count = results.filter { $0.outcome == outcome }.count
            if count > 0 { detail[outcome.rawValue] = String(count) }
        }
        detail["affected"] = results.filter { $0.outcome != .notDue }.map { "\($0.tenant) \($0.outcome.rawValue)" }.joined(separator: ",")
        let repository = self.repository, date = now(), entry = detail
        try await repository.write { transaction in
            _ = try await AuditLog.append(repository, in: transaction, tenant: nil, kind: .check, action: Self.sweepAction, detail: entry,
                                          cause: cause, at: date)
        }
    }

    /// Records a scheduled backup the lifecycle refused.
    func recordSkipped(_ record: TenantRecord, reason: String, cause: Cause) async throws -> BackupEntry {
        let date = now()
        let entry = BackupEntry(id: BackupEntry.newID(at: date), tenant: record.id, generation: record.generation, createdAt: date,
                                items: 0, bytes: 0, sha256: nil, fileName: nil, status: .skipped, reason: reason)
        let repository = self.repository
        try await repository.write { transaction in
            try await repository.insertBackup(entry, in: transaction)
            _ = try await AuditLog.append(repository, in: transaction, tenant: record.id, kind: .check, action: "backup skipped",
                                          detail: ["backup": entry.id, "state": record.state.rawValue, "reason": reason],
                                          cause: cause, at: date)
        }
        return entry
    }

    // MARK: Restore

    /// Writes the items of backup `backupID` back to their data sources; with `dryRun`, only counts per
    /// source what would change. Refused (`restore-refused`, `backup-damaged`, `backup-unknown`) before
    /// anything is written unless every gate passes and the whole file decrypts.
    public func restore(tenant: String, backup backupID: String, dryRun: Bool, cause: Cause) async throws -> RestoreReport {
        try BackupEntry.checkID(backupID)
        guard let entry = try await repository.backup(id: backupID) else {
            throw TenantError(.backupUnknown, "no backup \(backupID) in the catalogue (`cmkctl backups` lists them)")
        }
        let (record, current) = try await restoreGate(entry, tenant: tenant)
        guard let fileName = entry.fileName, let digest = entry.sha256 else {
            throw TenantError(.restoreRefused, "restore of \(backupID) refused: the entry has no file")
        }
        let path = directory + "/" + fileName
        let actual = try Self.sha256(ofFile: path, backup: backupID)
        guard actual == digest else {
            throw TenantError(.backupDamaged, "restore of \(backupID) refused: the file \(path) does not match its catalogue digest (SHA-256 \(actual.prefix(16))…, recorded \(digest.prefix(16))…): it was changed after it was written")
        }
        try await probe(record, generation: current, cause: cause)

        let sources = OpenedSources(configurations: configuration.dataSources, backup: backupID, open: openSource)
        do {
            let report = try await restore(entry, path: path, tenant: tenant, dryRun: dryRun, sources: sources)
            await sources.closeAll()
            if !dryRun {
                let repository = self.repository
                let date = now()
                try await repository.write { transaction in
                    _ = try await AuditLog.append(repository, in: transaction, tenant: tenant, kind: .request, action: "backup restored",
                                                  detail: ["backup": backupID, "generation": String(entry.generation), "items": String(report.items),
                                                           "updated": String(report.sources.reduce(0) { $0 + $1.updated }),
                                                           "created": String(report.sources.reduce(0) { $0 + $1.created })],
                                                  cause: cause, at: date)
                }
            }
            return report
        } catch {
            await sources.closeAll()
            throw error
        }
    }

    /// Reads the verified file twice: first it must decrypt and parse whole (a dry run also compares
    /// each item with its source), then its items are written back a page per source at a time.
    private func restore(_ entry: BackupEntry, path: String, tenant: String, dryRun: Bool, sources: OpenedSources) async throws -> RestoreReport {
        let declared = configuration.dataSources.map(\.name)
        var counts = declared.map { RestoreSourceCount(source: $0) }
        try await readBackup(entry, path: path) { line in
            let (index, open) = try await sources.source(line.source)
            counts[index].items += 1
            if dryRun {
                let stored = try await open.item(id: line.id, column: line.column)
                counts[index].count(stored == line.ciphertext ? .unchanged : (stored == nil ? .created : .updated))
            }
        }
        if dryRun {
            return RestoreReport(backup: entry.id, tenant: tenant, generation: entry.generation, dryRun: true, sources: counts)
        }
        // The first pass may take long: a suspension, rotation or disabling in the meantime still refuses.
        guard let again = try await repository.backup(id: entry.id) else {
            throw TenantError(.backupUnknown, "backup \(entry.id) left the catalogue during the restore")
        }
        _ = try await restoreGate(again, tenant: tenant)

        var written = declared.map { RestoreSourceCount(source: $0) }
        var pending: [String: [DataSourceItem]] = [:]
        func flush(_ name: String) async throws {
            guard let items = pending[name], !items.isEmpty else { return }
            let (index, open) = try await sources.source(name)
            for outcome in try await open.write(items, tenant: tenant) { written[index].count(outcome) }
            written[index].items += items.count
            pending[name] = []
        }
        try await readBackup(entry, path: path) { line in
            pending[line.source, default: []].append(line.item)
            if pending[line.source, default: []].count >= pageSize { try await flush(line.source) }
        }
        for name in declared { try await flush(name) }
        return RestoreReport(backup: entry.id, tenant: tenant, generation: entry.generation, dryRun: false, sources: written)
    }

    /// The catalogue's and the lifecycle's gates of a restore: the tenant's record and current generation.
    func restoreGate(_ entry: BackupEntry, tenant: String) async throws -> (TenantRecord, KeyGeneration) {
        func refuse(_ reason: String) -> TenantError {
            TenantError(.restoreRefused, "restore of \(entry.id) into tenant \(tenant.escapingControlCharacters) refused: \(reason)")
        }
        guard entry.tenant == tenant else {
            throw refuse("the backup is of tenant \(entry.tenant.escapingControlCharacters); a backup is restored only into the tenant it was taken of")
        }
        switch entry.status {
        case .available: break
        case .disabled: throw refuse("the backup is disabled: \(entry.reason ?? "a re-encryption moved the tenant to a newer key generation")")
        case .skipped: throw refuse("the backup was skipped (\(entry.reason ?? "refused by the lifecycle")); it has no file")
        }
        let repository = self.repository
        let (found, generations) = try await repository.read { transaction in
            (try await repository.tenant(tenant, in: transaction), try await repository.generations(of: tenant, in: transaction))
        }
        guard let record = found else {
            throw TenantError(.tenantUnknown, "tenant \(tenant.escapingControlCharacters) is not registered")
        }
        guard record.lifecycle.allows(.restore(generation: entry.generation)) else {
            if record.state != .active {
                throw refuse("the tenant is \(record.state.rawValue); a restore needs an active tenant")
            }
            throw refuse("the backup was written under key generation \(entry.generation) and the tenant's current generation is \(record.generation); only a backup its current generation wrapped is restored")
        }
        guard let current = generations.first(where: { $0.number == record.generation }), !current.keys.isEmpty else {
            throw TenantError(.storeFailure, "tenant \(tenant.escapingControlCharacters) has no keys for its current generation \(record.generation)")
        }
        return (record, current)
    }

    /// Probes every key of the current generation with the tenant's context, as a revocation check does;
    /// any verdict but ok refuses the restore with it.
    func probe(_ record: TenantRecord, generation: KeyGeneration, cause: Cause) async throws {
        guard let identifier = record.contextIdentifier else {
            throw TenantError(.restoreRefused, "restore into tenant \(record.id) refused: it has no encryption-context identifier")
        }
        let context = try EncryptionContext([(configuration.contextKey, identifier)])
        for key in generation.keys {
            let client = AuditedKMSClient(try kms.client(forKey: key.keyARN), repository: repository, tenant: record.id, cause: cause, now: now)
            let result = await KeyProbe(client: client).probe(keyID: key.keyARN, context: context)
            guard result.verdict == .ok else {
                let step = result.steps.first { !$0.passed }
                throw TenantError(.restoreRefused, "restore into tenant \(record.id) refused: the probe of \(key.keyARN) answered \(result.verdict.rawValue) at \(step?.name ?? "?") (\(step?.detail ?? "")); a restore needs keys that work now")
            }
        }
    }

    /// Decrypts the backup file frame by frame and hands each line over; a file that does not
    /// decrypt for the tenant, or a line that does not parse, is `backup-damaged`.
    func readBackup(_ entry: BackupEntry, path: String, _ each: (BackupLine) async throws -> Void) async throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TenantError(.backupDamaged, "backup \(entry.id): cannot read \(path)")
        }
        defer { try? handle.close() }
        let context = try EncryptionContext([(Self.contextKey, entry.id)])
        var decryptor = try await crypto.decryptor(tenant: entry.tenant, context: context, signedPlaintextRelease: .afterEachFrame)
        let decoder = JSONDecoder()
        var pending: [UInt8] = []
        func lines(final: Bool) async throws {
            var start = pending.startIndex
            while let end = pending[start...].firstIndex(of: 0x0A) {
                let line: BackupLine
                do {
                    line = try decoder.decode(BackupLine.self, from: Data(pending[start..<end]))
                } catch {
                    throw TenantError(.backupDamaged, "backup \(entry.id): a line is not an item (source, id, column, ciphertext)")
                }
                try await each(line)
                start = end + 1
            }
            pending.removeSubrange(..<start)
            if final && !pending.isEmpty {
                throw TenantError(.backupDamaged, "backup \(entry.id): the last line is cut off")
            }
        }
        do {
            while true {
                let chunk = try handle.read(upToCount: Self.flushBytes) ?? Data()
                if chunk.isEmpty { break }
                try await decryptor.update([UInt8](chunk), into: &pending)
                if let generation = decryptor.generation, generation != entry.generation {
                    throw TenantError(.backupDamaged, "backup \(entry.id): the file is under generation \(generation), the catalogue says \(entry.generation)")
                }
                try await lines(final: false)
            }
            pending.append(contentsOf: try decryptor.finish())
        } catch let error as TenantError where error.code == .decryptFailed {
            throw TenantError(.backupDamaged, "backup \(entry.id) does not decrypt for tenant \(entry.tenant): it is damaged or not this backup's file")
        }
        try await lines(final: true)
    }

    static func sha256(ofFile path: String, backup: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TenantError(.backupDamaged, "restore of \(backup) refused: its file \(path) is missing or unreadable")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Opens a data source for `body` and closes it afterwards.
    private func withSource(_ configuration: DataSourceConfiguration, _ body: (any DataSource) async throws -> Void) async throws {
        let source = try await openSource(configuration)
        do {
            try await body(source)
            await source.close()
        } catch {
            await source.close()
            throw error
        }
    }
}

/// A backup file being written: owner-only, hashed as it goes, flushed to disk before it is renamed.
final class BackupFileWriter {
    private let handle: FileHandle
    private let path: String
    private var hasher = SHA256()
    private var bytes: Int64 = 0

    init(creating path: String, folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw TenantError(.configuration, "cannot create the backup folder \(folder): \(ErrorSentence.reason(error))")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw TenantError(.configuration, "cannot create a backup file in \(folder) (backupDirectory in the operator configuration)")
        }
        self.handle = handle
        self.path = path
    }

    func write(_ data: [UInt8]) throws {
        guard !data.isEmpty else { return }
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw TenantError(.storeFailure, "cannot write the backup file \(path): \(ErrorSentence.reason(error))")
        }
        hasher.update(data: data)
        bytes += Int64(data.count)
    }

    /// Flushes and closes the file; its size and hex SHA-256.
    func close() throws -> (bytes: Int64, sha256: String) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw TenantError(.storeFailure, "cannot write the backup file \(path): \(ErrorSentence.reason(error))")
        }
        return (bytes, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    /// Closes the file after a failure (the caller removes it).
    func abandon() {
        try? handle.close()
    }
}

/// The data sources a restore opened, by name, each opened once and all closed at the end.
final class OpenedSources {
    private let configurations: [DataSourceConfiguration]
    private let backup: String
    private let open: DataSourceOpening
    private var opened: [String: any DataSource] = [:]

    init(configurations: [DataSourceConfiguration], backup: String, open: @escaping DataSourceOpening) {
        self.configurations = configurations
        self.backup = backup
        self.open = open
    }

    /// The source named in a backup line, and its index in the configuration.
    func source(_ name: String) async throws -> (index: Int, source: any DataSource) {
        guard let index = configurations.firstIndex(where: { $0.name == name }) else {
            throw TenantError(.restoreRefused, "restore of \(backup) refused: it holds items of data source \(DisplayText.quoted(name, limit: 64)), which the operator configuration no longer declares")
        }
        if let source = opened[name] { return (index, source) }
        let source = try await open(configurations[index])
        opened[name] = source
        return (index, source)
    }

    func closeAll() async {
        let sources = Array(opened.values)
        opened = [:]
        for source in sources { await source.close() }
    }
}
