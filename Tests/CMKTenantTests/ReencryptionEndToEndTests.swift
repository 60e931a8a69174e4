import AsyncHTTPClient
import CMKEnvelope
import CMKKMS
import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKTesting
import Foundation
import GRDB
import Testing

/// The issue's end-to-end case: a tenant with 10,000 items under the provider key in a SQLite table,
/// a PostgreSQL table and a directory (on moto, some written by the AWS Encryption SDK for Python)
/// enrolls; afterwards every item opens with the tenant's key (on moto: through the Python SDK), the
/// provider key alone opens none, every plaintext is unchanged, and no item was lost or added.
@Suite(.serialized) struct ReencryptionEndToEndTests {
    enum KMSKind: String, CaseIterable, CustomStringConvertible {
        case local, moto
        var description: String { rawValue }
    }

    static let perSource = ["app-sqlite": 4000, "app-postgres": 3000, "blobs": 3000]
    static let fromPython = 40

    struct Sources {
        let sqlite: DataSourceTests.Application
        let postgres: DataSourceTests.Application
        let directory: DataSourceTests.Application

        var configurations: [DataSourceConfiguration] {
            [DataSourceConfiguration(name: "app-sqlite", location: sqlite.configuration.location),
             DataSourceConfiguration(name: "app-postgres", location: postgres.configuration.location),
             directory.configuration]
        }

        func remove() { sqlite.remove(); postgres.remove(); directory.remove() }
    }

    @Test(arguments: KMSKind.allCases)
    func tenThousandItemsInThreeSourcesMoveToTheTenantsKey(kms kind: KMSKind) async throws {
        let sources = Sources(sqlite: try await .init(.sqlite), postgres: try await .init(.postgres), directory: try await .init(.directory))
        defer { sources.remove() }
        var configuration = OperatorConfiguration(dataSources: sources.configurations)
        configuration.reencryption = ReencryptionSettings(mode: .rewrap, batchSize: 500, kmsCallsPerSecond: 0, pauseSeconds: 30)
        switch kind {
        case .local:
            let harness = try await TenantHarness(configuration: configuration)
            defer { harness.remove() }
            let provider = try await harness.localKey("cmkctl-provider")
            let tenantKey = try await harness.localKey("acme-root")
            try await Self.run(harness, sources: sources, providerKey: provider, tenantKey: tenantKey, python: nil)
        case .moto:
            try await MotoSupport.withMoto { moto, http, principal, credentials in
                let endpoints = ["us-east-1": moto.url]
                let client = AWSKMSClient(httpClient: http, credentials: credentials, configuration: .init(endpoints: endpoints))
                let policy = EnrollmentMotoTests.policy(principal: principal, cryptoActions: EnrollmentMotoTests.allCrypto)
                let provider = try await client.createKey(description: "the operator's provider key", policy: policy).arn
                let tenantKey = try await client.createKey(description: "acme's root key", policy: policy).arn
                configuration.servicePrincipal = principal
                configuration.kmsEndpoints = endpoints
                configuration.providerKey = provider
                let harness = try await TenantHarness(configuration: configuration, aws: {
                    AWSKMSClient(httpClient: http, credentials: credentials, configuration: .init(endpoints: endpoints, requestTimeout: .seconds(5)))
                })
                defer { harness.remove() }
                try await Self.run(harness, sources: sources, providerKey: provider, tenantKey: tenantKey,
                                   python: { arguments in try Self.peer(arguments, moto: moto, credentials: credentials) })
            }
        }
    }

    static func run(_ harness: TenantHarness, sources: Sources, providerKey: String, tenantKey: String,
                    python: ((_ arguments: [String]) throws -> String)?) async throws {
        try await harness.add("acme", tag: "acmeprod")
        let identifier = try await harness.contextIdentifier("acme")
        var expected: [String: [UInt8]] = [:]
        try await write(harness.store, harness: harness, sources: sources, expected: &expected)
        if let python {
            // The Python SDK's own items: each its own data key, under the provider key and the tenant's context.
            let folder = sources.directory.directory + "/blobs/acme/python"
            _ = try python(["write", providerKey, #"{"\#(harness.configuration.contextKey)": "\#(identifier)"}"#, folder, String(fromPython)])
            for number in 1...fromPython { expected["blobs/acme/python/\(number).msg"] = Array("python item \(number)".utf8) }
        }
        let total = expected.count
        let status = try await harness.enroll("acme", keys: [tenantKey], tag: "acmeprod")
        #expect(status.state == "active")
        let record = try #require(status.reencryption)
        #expect(record.status == .completed)
        #expect(record.progress.moved == total)
        #expect(record.progress.failureCount == 0, "\(record.progress.failures.prefix(3))")
        var ledger = perSource
        if python != nil { ledger["blobs", default: 0] += fromPython }
        #expect(Dictionary(uniqueKeysWithValues: status.ledger.map { ($0.source, $0.items) }) == ledger)
        #expect(status.ledger.allSatisfy { $0.generation == 1 })

        // Read back everything: the same ids, nothing lost or added, every plaintext unchanged.
        var manifest: [[String: String]] = []
        var found: Set<String> = []
        for configuration in harness.configuration.dataSources {
            let source = try await TenantHarness.openSource(configuration)
            var cursor: ItemID?
            while true {
                let batch = try await source.batch(tenant: "acme", after: cursor, limit: 1000)
                for item in batch.items {
                    let key = "\(configuration.name == "blobs" ? "blobs/" : configuration.name + "/")\(item.id)"
                    found.insert(key)
                    manifest.append(["id": key, "ciphertext": Data(item.ciphertext).base64EncodedString(),
                                     "plaintext": Data(expected[key] ?? []).base64EncodedString()])
                }
                guard let last = batch.last else { break }
                cursor = last
            }
            await source.close()
        }
        #expect(found == Set(expected.keys), "lost: \(Set(expected.keys).subtracting(found).prefix(5)), added: \(found.subtracting(expected.keys).prefix(5))")
        if let python {
            let path = NSTemporaryDirectory() + "reencrypt-manifest-\(UUID().uuidString).json"
            try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let report = try #require(try JSONSerialization.jsonObject(with: Data(try python(["verify", tenantKey, providerKey, path]).utf8)) as? [String: Any])
            #expect(report["checked"] as? Int == total)
            #expect(report["tenantKeyOpened"] as? Int == total, "\(report)")
            #expect(report["providerKeyOpened"] as? Int == 0, "\(report)")
            #expect((report["mismatches"] as? [Any])?.isEmpty == true, "\(report)")
        } else {
            try await verifyLocally(harness.store, harness: harness, manifest: manifest, providerKey: providerKey)
        }
    }

    /// 10,000 items under generation 0 through `TenantCrypto` (cached materials, as an application writes them).
    static func write(_ repository: some TenantRepository, harness: TenantHarness, sources: Sources, expected: inout [String: [UInt8]]) async throws {
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms)
        func message(_ key: String) async throws -> [UInt8] {
            let plaintext = Array("\(key) of acme".utf8)
            expected[key] = plaintext
            let written = try await crypto.encrypt(tenant: "acme", plaintext: plaintext)
            #expect(written.generation == 0)
            return written.ciphertext
        }
        var rows: [(Int, [UInt8])] = []
        for number in 1...perSource["app-sqlite"]! { rows.append((number, try await message("app-sqlite/\(number)"))) }
        let queue = try DatabaseQueue(path: sources.sqlite.directory + "/app.sqlite")
        try await queue.write { [rows] db in
            for (number, body) in rows {
                try db.execute(sql: "INSERT INTO documents (id, tenant_id, body) VALUES (?, 'acme', ?)", arguments: [number, Data(body)])
            }
        }
        try queue.close()
        rows = []
        for number in 1...perSource["app-postgres"]! { rows.append((number, try await message("app-postgres/\(number)"))) }
        // psql takes one statement per argument (at most 128 KiB): 100 rows at a time.
        for start in stride(from: 0, to: rows.count, by: 100) {
            let values = rows[start..<min(start + 100, rows.count)].map { number, body in
                "(\(number), 'acme', '\\x\(body.map { String(format: "%02x", $0) }.joined())'::bytea)"
            }.joined(separator: ",")
            try await sources.postgres.sql("INSERT INTO documents (id, tenant_id, body) VALUES \(values)")
        }
        for number in 1...perSource["blobs"]! {
            let path = "acme/\(number % 10)/\(number).msg"
            let folder = sources.directory.directory + "/blobs/acme/\(number % 10)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(try await message("blobs/\(path)")).write(to: URL(fileURLWithPath: sources.directory.directory + "/blobs/" + path))
        }
    }

    /// With the local KMS (no Python SDK can reach it): every item through the library, and the provider key alone.
    static func verifyLocally(_ repository: some TenantRepository, harness: TenantHarness, manifest: [[String: String]],
                              providerKey: String) async throws {
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms)
        let providerOnly = KMSKeyring(client: try harness.localKMS, generatorKeyID: providerKey)
        var opened = 0, openedByProvider = 0
        for entry in manifest {
            let ciphertext = Array(Data(base64Encoded: entry["ciphertext"]!)!)
            let decrypted = try await crypto.decrypt(tenant: "acme", ciphertext: ciphertext)
            if decrypted.plaintext == Array(Data(base64Encoded: entry["plaintext"]!)!) && decrypted.generation == 1 { opened += 1 }
            if (try? await Envelope().decrypt(ciphertext, keyring: providerOnly)) != nil { openedByProvider += 1 }
        }
        #expect(opened == manifest.count)
        #expect(openedByProvider == 0)
    }

    /// Runs Tests/Peers/reencrypt_peer.py as the service user, with botocore pointed at moto.
    static func peer(_ arguments: [String], moto: MotoServer, credentials: AWSCredentials) throws -> String {
        try TenantCryptoMotoTests.peer(arguments, moto: moto, credentials: credentials, script: "reencrypt_peer.py")
    }
}
