import CMKEnvelope
import CMKKMS
import CMKSQLite
import CMKTenant
import Foundation
import GRDB

/// `cmkctl bench reencrypt`: a tenant's items in an application's SQLite table, written under the
/// provider key with cached materials, moved to a new generation by the sweep in each mode, against
/// the raw rate of batched 100-row UPDATEs of the same table; then items that each have their own
/// data key (as the AWS Encryption SDK for Python writes them), rewrapped.
public struct ReencryptionBenchmark: Sendable {
    public struct Report: Sendable, Codable, Equatable {
        public let items: Int
        public let itemBytes: Int
        public let batchRows: Int
        public let rewrapItemsPerSecond: Double
        public let rewrapKMSCallsPerItem: Double
        public let reencryptItemsPerSecond: Double
        public let reencryptKMSCallsPerItem: Double
        public let rawUpdatesPerSecond: Double
        /// Each mode's items/s over the raw UPDATE rate; the target is at least 0.3 for the better mode.
        public let rewrapRatio: Double
        public let reencryptRatio: Double
        public let ownKeyItems: Int
        public let ownKeyRewrapItemsPerSecond: Double
        public let ownKeyKMSCallsPerItem: Double
    }

    public let directory: URL
    public let items: Int
    public let itemBytes: Int
    public let batchRows: Int
    public let ownKeyItems: Int

    public init(directory: URL, items: Int, itemBytes: Int = 1024, batchRows: Int = 100, ownKeyItems: Int) {
        self.directory = directory
        self.items = items
        self.itemBytes = itemBytes
        self.batchRows = batchRows
        self.ownKeyItems = ownKeyItems
    }

    public func run() async throws -> Report {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let kmsPath = directory.appendingPathComponent("local-kms.json").path
        let localKMS = try LocalKMS(path: kmsPath, createIfMissing: true)
        let providerKey = try await localKMS.createKey(description: "bench provider", policy: nil, alias: "cmkctl-provider").arn
        let tenantKey = try await localKMS.createKey(description: "bench tenant", policy: nil, alias: "bench-tenant").arn
        let configuration = OperatorConfiguration(localKMSPath: kmsPath)
        let kms = TenantKMS(local: { localKMS }, aws: { throw KMSError(.unreachable, "the benchmark uses the local KMS only") })
        let store = try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path)
        let repository = store.repository
        let registration = try TenantRegistration(tenant: "acme", tag: "acme", operatorName: "bench", configuration: configuration)
        _ = try await registration.add(to: repository, providerKey: configuration.providerKey)
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms)

        // Two identical tables under generation 0, one per mode, and a third for the raw UPDATEs.
        let application = try DatabaseQueue(path: directory.appendingPathComponent("app.sqlite").path)
        let tables = ["rewrap", "reencrypt", "raw", "own_key"]
        try await application.write { db in
            for table in tables {
                try db.execute(sql: "CREATE TABLE \(table) (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, body BLOB)")
            }
        }
        var plaintext = [UInt8](repeating: 0, count: itemBytes)
        for start in stride(from: 0, to: items, by: 1000) {
            var rows: [(Int, [UInt8])] = []
            for id in start..<min(start + 1000, items) {
                plaintext[0] = UInt8(truncatingIfNeeded: id)
                rows.append((id + 1, try await crypto.encrypt(tenant: "acme", plaintext: plaintext).ciphertext))
            }
            let batch = rows
            try await application.write { db in
                for table in tables.dropLast() {
                    for (id, body) in batch {
                        try db.execute(sql: "INSERT INTO \(table) (id, tenant_id, body) VALUES (?, 'acme', ?)", arguments: [id, Data(body)])
                    }
                }
            }
        }
        // Items with a data key each, under the provider key and the tenant's context, as another SDK writes them.
        let identifier = try await repository.tenant("acme")?.contextIdentifier ?? ""
        let context = try EncryptionContext([(configuration.contextKey, identifier)])
        let ownKeyring = KMSKeyring(client: localKMS, generatorKeyID: providerKey)
        var ownRows: [(Int, [UInt8])] = []
        for id in 0..<ownKeyItems {
            plaintext[0] = UInt8(truncatingIfNeeded: id)
            ownRows.append((id + 1, try await Envelope().encrypt(plaintext, context: context, keyring: ownKeyring)))
        }
        let own = ownRows
        try await application.write { db in
            for (id, body) in own {
                try db.execute(sql: "INSERT INTO own_key (id, tenant_id, body) VALUES (?, 'acme', ?)", arguments: [id, Data(body)])
            }
        }
        try application.close()

        // The switch to generation 1.
        try await repository.write { transaction in
            try await repository.recordGeneration(tenant: "acme", number: 1, keys: [.init(region: "local", keyARN: tenantKey)],
                                                  cause: Cause(operatorName: "bench"), now: Date(), in: transaction)
        }

        let rewrap = try await sweep(table: "rewrap", mode: .rewrap, crypto: crypto, kms: kms, expected: items)
        let reencrypt = try await sweep(table: "reencrypt", mode: .reencrypt, crypto: crypto, kms: kms, expected: items)
        let ownKey = try await sweep(table: "own_key", mode: .rewrap, crypto: crypto, kms: kms, expected: ownKeyItems)
        let raw = try await rawUpdates()
        return Report(
            items: items, itemBytes: itemBytes, batchRows: batchRows,
            rewrapItemsPerSecond: rewrap.perSecond, rewrapKMSCallsPerItem: rewrap.callsPerItem,
            reencryptItemsPerSecond: reencrypt.perSecond, reencryptKMSCallsPerItem: reencrypt.callsPerItem,
            rawUpdatesPerSecond: raw, rewrapRatio: rewrap.perSecond / raw, reencryptRatio: reencrypt.perSecond / raw,
            ownKeyItems: ownKeyItems, ownKeyRewrapItemsPerSecond: ownKey.perSecond, ownKeyKMSCallsPerItem: ownKey.callsPerItem)
    }

    /// Sweeps one table to the end; items/s and KMS calls per item.
    private func sweep<Repository: TenantRepository>(table: String, mode: Reencryption<Repository>.Mode, crypto: TenantCrypto<Repository>,
                                                     kms: TenantKMS, expected: Int) async throws -> (perSecond: Double, callsPerItem: Double) {
        let source = try SQLiteDataSource(configuration: DataSourceConfiguration(name: table, location: .sqlite(
            path: directory.appendingPathComponent("app.sqlite").path,
            layout: .init(table: table, idColumn: "id", tenantColumn: "tenant_id", columns: ["body"]))))
        defer { Task { await source.close() } }
        await crypto.purge(tenant: "acme")
        let sweep = Reencryption(crypto: crypto, kms: kms, mode: mode)
        let callsBefore = await crypto.metrics().kmsCalls
        var moved = 0
        var cursor: ItemID?
        let clock = ContinuousClock()
        let start = clock.now
        while true {
            let page = try await sweep.sweep(tenant: "acme", source: source, after: cursor, limit: batchRows)
            guard page.failures.isEmpty else {
                throw TenantError(.dataSourceFailure, "the benchmark's \(table) table has items the sweep could not move: \(page.failures[0].reason)")
            }
            moved += page.rewrapped + page.reencrypted
            cursor = page.cursor
            if page.finished { break }
        }
        let seconds = Self.seconds(clock.now - start)
        guard moved == expected else {
            throw TenantError(.dataSourceFailure, "the benchmark moved \(moved) of \(expected) items in \(table)")
        }
        let calls = await crypto.metrics().kmsCalls - callsBefore + sweep.rewrapKMSCalls
        return (Double(moved) / seconds, Double(calls) / Double(max(moved, 1)))
    }

    /// UPDATEs of the raw table, 100 rows per transaction, new bytes of the same size: what the
    /// database alone allows.
    private func rawUpdates() async throws -> Double {
        let application = try DatabaseQueue(path: directory.appendingPathComponent("app.sqlite").path)
        defer { try? application.close() }
        let body = Data(repeating: 0xA5, count: itemBytes + 200)
        let clock = ContinuousClock()
        let start = clock.now
        for first in stride(from: 1, through: items, by: batchRows) {
            try await application.write { db in
                for id in first..<min(first + batchRows, items + 1) {
                    try db.execute(sql: "UPDATE raw SET body = ? WHERE id = ?", arguments: [body, id])
                }
            }
        }
        return Double(items) / Self.seconds(clock.now - start)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
