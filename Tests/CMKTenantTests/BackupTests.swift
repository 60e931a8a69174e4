import CMKEnvelope
import CMKKMS
import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKTesting
import Crypto
import Foundation
import GRDB
import Testing

/// The backup catalogue on both store backends, and `BackupService` on every kind of data source with
/// the local KMS: a backup restores byte for byte, and every gate of design.md section 6 refuses with
/// its reason (re-encrypting, suspended, another tenant, disabled, an older generation, a changed file,
/// a key failing its probe).
@Suite struct BackupTests {
    typealias Kind = DataSourceTests.Kind

    /// Opens any kind of data source, as the CLI's `DataSourceOpener` does.
    static let opener: DataSourceOpening = { configuration in
        switch configuration.kind {
        case .sqlite: try SQLiteDataSource(configuration: configuration)
        case .postgres: try await PostgresDataSource.open(configuration)
        case .directory: try DirectoryDataSource(configuration: configuration)
        }
    }

    /// A date the test moves by hand (the sweep's notion of "now").
    final class TestDate: @unchecked Sendable {
        // Guarded by `lock`.
        private var date = Date(timeIntervalSince1970: 1_800_000_000)
        private let lock = NSLock()

        var now: Date { lock.withLock { date } }
        func advance(_ seconds: Double) { lock.withLock { date += seconds } }
    }

    /// An application's source and a store (PostgreSQL for a PostgreSQL source, SQLite otherwise), with
    /// acme and beta enrolled on keys of their own and active.
    struct World {
        let harness: TenantHarness
        let application: DataSourceTests.Application
        let date = TestDate()
        var keys: [String: String] = [:]

        init(_ kind: Kind, store: TestBackend? = nil) async throws {
            application = try await DataSourceTests.Application(kind)
            let configuration = OperatorConfiguration(dataSources: [application.configuration],
                                                      backupDirectory: application.directory + "/backups")
            harness = try await TenantHarness(store ?? (kind == .postgres ? .postgres : .sqlite), configuration: configuration)
            try await harness.providerKey()
            for tenant in ["acme", "beta"] {
                let key = try await harness.localKey("\(tenant)-root")
                keys[tenant] = key
                try await harness.enroll(tenant, keys: [key], tag: tenant)
                // Whether the hand-over ends re-encrypting or active, the tenant is active after this.
                try await harness.apply(.reencryptionCompleted, to: tenant)
            }
        }

        /// The services with pages of two items, so a handful of items already spans several pages.
        var crypto: AnyBackups { backups(pageSize: 2) }

        func backups(pageSize: Int) -> AnyBackups {
            AnyBackups(harness.fresh.store, configuration: harness.configuration, kms: harness.kms, date: date, pageSize: pageSize)
        }

        func remove() {
            harness.remove()
            application.remove()
        }
    }

    static func plaintext(_ tenant: String, _ number: Int, _ column: Int) -> [UInt8] {
        Array("\(tenant) row \(number) column \(column), kept exactly".utf8)
    }

    // MARK: The catalogue on both backends

    @Test(arguments: TestBackend.allCases)
    func theCatalogueKeepsEntriesAndDisablesOnlyOlderAvailableOnes(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await Self.catalogue(harness.fresh.store.repository, harness: harness)
    }

    static func catalogue<Repository: TenantRepository>(_ repository: Repository, harness: TenantHarness) async throws {
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        func entry(_ id: String, _ tenant: String, _ generation: Int, _ offset: Double, _ status: BackupEntry.Status) -> BackupEntry {
            BackupEntry(id: id, tenant: tenant, generation: generation, createdAt: base + offset, items: status == .skipped ? 0 : 3,
                        bytes: status == .skipped ? 0 : 1234, sha256: status == .skipped ? nil : String(repeating: "ab", count: 32),
                        fileName: status == .skipped ? nil : "\(tenant)/\(id).backup", status: status,
                        reason: status == .skipped ? "the tenant is re-encrypting" : nil)
        }
        let entries = [
            entry("bk-a0", "acme", 0, 0, .available), entry("bk-a1", "acme", 1, 10, .available),
            entry("bk-a2", "acme", 1, 20, .skipped), entry("bk-b0", "beta", 0, 5, .available),
        ]
        try await repository.write { transaction in
            for entry in entries { try await repository.insertBackup(entry, in: transaction) }
        }
        #expect(try await repository.backups(tenant: "acme").map(\.id) == ["bk-a0", "bk-a1", "bk-a2"])
        #expect(try await repository.backups(tenant: nil).map(\.id) == ["bk-a0", "bk-b0", "bk-a1", "bk-a2"])
        #expect(try await repository.backup(id: "bk-a2") == entries[2])
        #expect(try await repository.backup(id: "bk-a1") == entries[1])
        #expect(try await repository.backup(id: "bk-none") == nil)

        // Completing a re-encryption to generation 1 disables acme's generation-0 backup, nothing else.
        let reason = "re-encryption to generation 1 completed"
        let disabled = try await repository.disableOlderBackups(tenant: "acme", generation: 1, reason: reason,
                                                                cause: Cause(operatorName: "tester"), now: base + 30)
        #expect(disabled == 1)
        let after = try await repository.backups(tenant: nil)
        #expect(after.first { $0.id == "bk-a0" }?.status == .disabled)
        #expect(after.first { $0.id == "bk-a0" }?.reason == reason)
        #expect(after.first { $0.id == "bk-a1" }?.status == .available)
        #expect(after.first { $0.id == "bk-a2" }?.status == .skipped)
        #expect(after.first { $0.id == "bk-b0" }?.status == .available)
        // A repeat finds nothing left to disable; the raw primitive counts the same way.
        #expect(try await repository.write { transaction in
            try await repository.disableBackups(tenant: "acme", before: 1, reason: reason, in: transaction)
        } == 0)
        #expect(try await repository.auditEntries(tenant: "acme").filter { $0.action == "backups disabled" }.count == 1)

        // A disabled backup never becomes available again, even by SQL around the product.
        await #expect(throws: (any Error).self) {
            try await harness.rawSQL("UPDATE backups SET status = 'available' WHERE id = 'bk-a0'")
        }
        #expect(try await repository.backup(id: "bk-a0")?.status == .disabled)
        // Ids are unique.
        await #expect(throws: (any Error).self) {
            try await repository.write { transaction in try await repository.insertBackup(entries[0], in: transaction) }
        }
    }

    // MARK: Round trip

    @Test(arguments: Kind.allCases)
    func aBackupRestoresEveryItemByteForByte(kind: Kind) async throws {
        let world = try await World(kind)
        defer { world.remove() }
        let application = world.application
        let backups = world.crypto
        let table = kind != .directory
        // acme: rows 1-6, rows 3 and 4 with a second column (tables); beta: rows 101-102.
        var stored: [String: [UInt8]] = [:]
        func key(_ number: Int, _ column: Int) -> String { "\(number).\(column)" }
        for number in 1...6 {
            let body = try await backups.encrypt("acme", Self.plaintext("acme", number, 0))
            let attachment = table && (3...4).contains(number) ? try await backups.encrypt("acme", Self.plaintext("acme", number, 1)) : nil
            try await application.insert(number, tenant: "acme", values: [body, attachment])
            stored[key(number, 0)] = body
            if let attachment { stored[key(number, 1)] = attachment }
        }
        var betaStored: [Int: [UInt8]] = [:]
        for number in 101...102 {
            let body = try await backups.encrypt("beta", Self.plaintext("beta", number, 0))
            try await application.insert(number, tenant: "beta", values: [body, nil])
            betaStored[number] = body
        }

        let entry = try await backups.backup("acme")
        #expect(entry.items == stored.count)
        #expect(entry.generation == 1)
        #expect(entry.status == .available)
        let file = world.harness.configuration.backupDirectory + "/" + (entry.fileName ?? "?")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(Int64(bytes.count) == entry.bytes)
        #expect(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == entry.sha256)
        // The file is one message under acme's context and the backup id; no ciphertext of an item is in it as is.
        let header = try MessageHeaderSummary(reading: Array(bytes))
        #expect(header.encryptionContext[BackupService<SQLiteTenantRepository>.contextKey] == entry.id)
        #expect(bytes.range(of: Data(stored[key(1, 0)]!)) == nil)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // After the backup: row 1 deleted, row 2 rewritten, row 3's attachment cleared (tables), row 7 added.
        let source = try await application.open()
        defer { Task { await source.close() } }
        let rewritten = try await backups.encrypt("acme", Array("a later write".utf8))
        switch kind {
        case .directory:
            try FileManager.default.removeItem(atPath: application.directory + "/blobs/" + application.id(1, tenant: "acme").description)
        default:
            try await application.sql("DELETE FROM documents WHERE id = 1")
            try await application.sql("UPDATE documents SET attachment = NULL WHERE id = 3")
        }
        #expect(try await source.compareAndSwap(id: application.id(2, tenant: "acme"), column: application.columns[0],
                                                old: stored[key(2, 0)]!, new: rewritten))
        let added = try await backups.encrypt("acme", Array("written after the backup".utf8))
        try await application.insert(7, tenant: "acme", values: [added, nil])

        let expectedUpdated = 1
        let expectedCreated = table ? 2 : 1
        let preview = try await backups.restore("acme", entry.id, dryRun: true)
        #expect(preview.dryRun)
        #expect(preview.sources.map(\.source) == [application.configuration.name])
        #expect(preview.sources.first == RestoreSourceCount(source: application.configuration.name, items: stored.count,
                                                            unchanged: stored.count - expectedUpdated - expectedCreated,
                                                            updated: expectedUpdated, created: expectedCreated))
        // The dry run wrote nothing.
        #expect(try await source.item(id: application.id(2, tenant: "acme"), column: application.columns[0]) == rewritten)
        #expect(try await source.item(id: application.id(1, tenant: "acme"), column: application.columns[0]) == nil)

        let report = try await backups.restore("acme", entry.id, dryRun: false)
        #expect(!report.dryRun)
        #expect(report.sources.first == preview.sources.first)
        for number in 1...6 {
            for column in 0..<2 {
                guard let expected = stored[key(number, column)] else { continue }
                let now = try await source.item(id: application.id(number, tenant: "acme"), column: application.columns[column])
                #expect(now == expected, "acme row \(number) column \(column)")
                #expect(try await backups.decrypt("acme", expected) == Self.plaintext("acme", number, column))
            }
        }
        // What was written after the backup, and the other tenant, are untouched.
        #expect(try await source.item(id: application.id(7, tenant: "acme"), column: application.columns[0]) == added)
        for (number, body) in betaStored {
            #expect(try await source.item(id: application.id(number, tenant: "beta"), column: application.columns[0]) == body)
        }
        // A second restore finds everything in place.
        let again = try await backups.restore("acme", entry.id, dryRun: false)
        #expect(again.sources.first?.unchanged == stored.count)

        let actions = try await world.harness.store.auditEntries(tenant: "acme").map(\.action)
        #expect(actions.contains("backup taken") && actions.contains("backup restored"))
    }

    /// 20,000 rows of about 1 KiB with the default page size: the file is written and read a page and a
    /// frame at a time, every row comes back after the table is emptied, and the figures are printed.
    @Test func aLargeTenantRoundTripsPageByPage() async throws {
        let world = try await World(.sqlite)
        defer { world.remove() }
        let backups = world.backups(pageSize: 500)
        var messages: [[UInt8]] = []
        for number in 0..<50 {
            messages.append(try await backups.encrypt("acme", Array(repeating: UInt8(number), count: 1000)))
        }
        let count = 20_000
        let distinct = messages
        let queue = try DatabaseQueue(path: world.application.directory + "/app.sqlite")
        try await queue.write { db in
            for id in 1...count {
                try db.execute(sql: "INSERT INTO documents (id, tenant_id, body) VALUES (?, 'acme', ?)", arguments: [id, Data(distinct[id % 50])])
            }
        }
        func digest() async throws -> String {
            try await queue.read { db in
                var hasher = SHA256()
                let rows = try Row.fetchCursor(db, sql: "SELECT id, body FROM documents ORDER BY id")
                while let row = try rows.next() {
                    hasher.update(data: Data(String(row[0] as Int64).utf8))
                    hasher.update(data: row[1] as Data)
                }
                return hasher.finalize().map { String(format: "%02x", $0) }.joined()
            }
        }
        let before = try await digest()
        let clock = ContinuousClock()
        var entry: BackupEntry?
        let backupTime = try await clock.measure { entry = try await backups.backup("acme") }
        let written = try #require(entry)
        #expect(written.items == count)
        try await queue.write { db in try db.execute(sql: "DELETE FROM documents") }
        var report: RestoreReport?
        let restoreTime = try await clock.measure { report = try await backups.restore("acme", written.id, dryRun: false) }
        #expect(report?.sources.first?.created == count)
        #expect(try await digest() == before)
        try queue.close()
        print("backup of \(count) items (\(written.bytes) bytes): \(backupTime); restore (verify pass + write pass): \(restoreTime)")
    }

    // MARK: Refused backups

    @Test(arguments: TestBackend.allCases)
    func backupsAreRefusedWhileReencryptingOrSuspendedAndTheSweepRecordsThemSkipped(store: TestBackend) async throws {
        let world = try await World(.directory, store: store)
        defer { world.remove() }
        let backups = world.crypto
        for tenant in ["acme", "beta"] {
            try await world.application.insert(1, tenant: tenant, values: [try await backups.encrypt(tenant, Self.plaintext(tenant, 1, 0))])
        }

        // acme re-encrypting (a rotation started): refused, and the sweep records it skipped.
        try await world.harness.apply(.rotationStarted, to: "acme")
        let reencrypting = await #expect(throws: TenantError.self) { _ = try await backups.backup("acme") }
        #expect(reencrypting?.code == .backupRefused)
        #expect(reencrypting?.message.contains("re-encrypting") == true, "\(reencrypting?.message ?? "")")
        let first = try await backups.sweep()
        #expect(first.map(\.tenant) == ["acme", "beta"])
        #expect(first.map(\.outcome) == [.skipped, .backedUp])
        #expect(first[0].detail.contains("re-encrypting"))
        var catalogue = try await world.harness.store.backups(tenant: "acme")
        #expect(catalogue.map(\.status) == [.skipped])
        #expect(catalogue.first?.reason?.contains("re-encrypting") == true)
        #expect(catalogue.first?.fileName == nil)
        let folder = world.harness.configuration.backupDirectory + "/acme"
        #expect((try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty ?? true)

        // acme suspended: refused with that reason; beta's backup is not due yet.
        try await world.harness.apply(.reencryptionCompleted, to: "acme")
        try await world.harness.apply(.revocationConfirmed, to: "acme")
        world.date.advance(60)
        let suspended = await #expect(throws: TenantError.self) { _ = try await backups.backup("acme") }
        #expect(suspended?.code == .backupRefused)
        #expect(suspended?.message.contains("suspended") == true, "\(suspended?.message ?? "")")
        let second = try await backups.sweep()
        #expect(second.map(\.outcome) == [.skipped, .notDue])
        #expect(second[0].detail.contains("suspended"))

        // Reinstated: backed up at the next sweep; a day later both are due again.
        try await world.harness.apply(.reinstated, to: "acme")
        world.date.advance(60)
        #expect(try await backups.sweep().map(\.outcome) == [.backedUp, .notDue])
        world.date.advance(world.harness.configuration.schedules.backupSeconds)
        #expect(try await backups.sweep().map(\.outcome) == [.backedUp, .backedUp])
        catalogue = try await world.harness.store.backups(tenant: "acme")
        #expect(catalogue.map(\.status) == [.skipped, .skipped, .available, .available])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".backup") }.count == 2)
    }

    // MARK: Refused restores

    @Test(arguments: TestBackend.allCases)
    func restoreIsRefusedWithItsReason(store: TestBackend) async throws {
        let world = try await World(.sqlite, store: store)
        defer { world.remove() }
        let backups = world.crypto
        let harness = world.harness
        for (offset, tenant) in ["acme", "beta"].enumerated() {
            try await world.application.insert(offset + 1, tenant: tenant, values: [try await backups.encrypt(tenant, Self.plaintext(tenant, 1, 0)), nil])
        }
        let acme = try await backups.backup("acme")
        let beta = try await backups.backup("beta")

        func refusal(_ tenant: String, _ backup: String) async -> TenantError? {
            await #expect(throws: TenantError.self) { _ = try await backups.restore(tenant, backup, dryRun: true) }
        }

        // Another tenant's backup.
        let other = await refusal("beta", acme.id)
        #expect(other?.code == .restoreRefused)
        #expect(other?.message.contains("is of tenant acme") == true, "\(other?.message ?? "")")

        // A file changed after it was written.
        let path = harness.configuration.backupDirectory + "/" + acme.fileName!
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var tampered = original
        tampered[tampered.count - 5] ^= 0x01
        try tampered.write(to: URL(fileURLWithPath: path))
        let changed = await refusal("acme", acme.id)
        #expect(changed?.code == .backupDamaged)
        #expect(changed?.message.contains("does not match its catalogue digest") == true, "\(changed?.message ?? "")")
        try original.write(to: URL(fileURLWithPath: path))
        #expect(try await backups.restore("acme", acme.id, dryRun: true).items == 1)

        // A key that fails its probe now.
        try await harness.localKMS.disableKey(keyID: world.keys["beta"]!)
        let probe = await refusal("beta", beta.id)
        #expect(probe?.code == .restoreRefused)
        #expect(probe?.message.contains("probe") == true && probe?.message.contains("disabled") == true, "\(probe?.message ?? "")")
        try await harness.localKMS.enableKey(keyID: world.keys["beta"]!)
        #expect(try await backups.restore("beta", beta.id, dryRun: true).items == 1)

        // A tenant that is not active.
        try await harness.apply(.revocationConfirmed, to: "beta")
        let suspended = await refusal("beta", beta.id)
        #expect(suspended?.code == .restoreRefused)
        #expect(suspended?.message.contains("the tenant is suspended") == true, "\(suspended?.message ?? "")")

        // acme rotates to generation 2: its generation-1 backup no longer matches the current generation...
        let next = try await harness.localKey("acme-next")
        try await backups.rotate("acme", to: 2, key: next)
        let older = await refusal("acme", acme.id)
        #expect(older?.code == .restoreRefused)
        #expect(older?.message.contains("generation 1") == true && older?.message.contains("current generation is 2") == true,
                "\(older?.message ?? "")")
        // ...and once the re-encryption completes it is disabled, which is what a restore then says.
        #expect(try await harness.store.disableOlderBackups(tenant: "acme", generation: 2, reason: "re-encryption to generation 2 completed",
                                                            cause: Cause(operatorName: "tester"), now: Date()) == 1)
        let disabled = await refusal("acme", acme.id)
        #expect(disabled?.code == .restoreRefused)
        #expect(disabled?.message.contains("disabled: re-encryption to generation 2 completed") == true, "\(disabled?.message ?? "")")
        #expect(try await harness.store.backup(id: acme.id)?.status == .disabled)

        // A backup id the catalogue does not have.
        let unknown = await refusal("acme", "bk-20260101T000000Z-00000000")
        #expect(unknown?.code == .backupUnknown)
    }
}

/// `BackupService` and `TenantCrypto` over whichever backend the harness opened.
struct AnyBackups: Sendable {
    private let encrypting: @Sendable (String, [UInt8]) async throws -> [UInt8]
    private let decrypting: @Sendable (String, [UInt8]) async throws -> [UInt8]
    private let backingUp: @Sendable (String) async throws -> BackupEntry
    private let restoring: @Sendable (String, String, Bool) async throws -> RestoreReport
    private let sweeping: @Sendable () async throws -> [BackupSweepResult]
    private let rotating: @Sendable (String, Int, String) async throws -> Void

    init<Store: StoreBackend>(_ store: Store, configuration: OperatorConfiguration, kms: TenantKMS, date: BackupTests.TestDate,
                              pageSize: Int) {
        let repository = store.repository
        let crypto = Result { try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms) }
        let service = crypto.map { BackupService(crypto: $0, kms: kms, openSource: BackupTests.opener, pageSize: pageSize, now: { date.now }) }
        let cause = Cause(operatorName: "tester")
        encrypting = { tenant, plaintext in try await crypto.get().encrypt(tenant: tenant, plaintext: plaintext).ciphertext }
        decrypting = { tenant, ciphertext in try await crypto.get().decrypt(tenant: tenant, ciphertext: ciphertext).plaintext }
        backingUp = { tenant in try await service.get().backup(tenant: tenant, cause: cause) }
        restoring = { tenant, backup, dryRun in try await service.get().restore(tenant: tenant, backup: backup, dryRun: dryRun, cause: cause) }
        sweeping = { try await service.get().sweep(cause: cause) }
        rotating = { tenant, number, key in
            let region = try KeyARN(validating: key, allowAlias: false).region
            try await repository.write { transaction in
                try await repository.apply(.rotationStarted, tenant: tenant, waitingFor: nil, cause: cause, now: Date(), in: transaction)
                try await repository.recordGeneration(tenant: tenant, number: number, keys: [.init(region: region, keyARN: key)],
                                                      cause: cause, now: Date(), in: transaction)
                try await repository.apply(.reencryptionCompleted, tenant: tenant, waitingFor: nil, cause: cause, now: Date(), in: transaction)
            }
        }
    }

    func encrypt(_ tenant: String, _ plaintext: [UInt8]) async throws -> [UInt8] { try await encrypting(tenant, plaintext) }
    func decrypt(_ tenant: String, _ ciphertext: [UInt8]) async throws -> [UInt8] { try await decrypting(tenant, ciphertext) }
    func backup(_ tenant: String) async throws -> BackupEntry { try await backingUp(tenant) }
    func restore(_ tenant: String, _ backup: String, dryRun: Bool) async throws -> RestoreReport { try await restoring(tenant, backup, dryRun) }
    func sweep() async throws -> [BackupSweepResult] { try await sweeping() }
    /// Rotates to generation `number` on `key` and completes at once, as a finished re-encryption leaves it.
    func rotate(_ tenant: String, to number: Int, key: String) async throws { try await rotating(tenant, number, key) }
}
