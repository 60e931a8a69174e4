import CMKEnvelope
import CMKKMS
import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKTesting
import Crypto
import Foundation
import Testing

/// The per-tenant sweep on every kind of data source, with the local KMS: older items move to the
/// current generation (rewrapped or re-encrypted), current ones stay, what cannot be read is
/// reported, and an application write that races the sweep is never lost.
@Suite struct ReencryptionTests {
    typealias Kind = DataSourceTests.Kind

    /// Enrolls acme after items were written under the provider key; returns what the test needs.
    struct World {
        let harness: TenantHarness
        let application: DataSourceTests.Application
        let providerKey: String
    }

    static func world(_ kind: Kind) async throws -> World {
        let harness = try await TenantHarness(kind == .postgres ? .postgres : .sqlite)
        let providerKey = try await harness.localKey("cmkctl-provider")
        try await harness.add("acme", tag: "acmeprod")
        let application = try await DataSourceTests.Application(kind)
        return World(harness: harness, application: application, providerKey: providerKey)
    }

    static func plaintext(_ number: Int) -> [UInt8] { Array("row \(number) of acme, kept exactly".utf8) }

    @Test(arguments: Kind.allCases)
    func olderItemsMoveCurrentOnesStayAndFailuresAreReported(kind: Kind) async throws {
        let world = try await Self.world(kind)
        defer { world.harness.remove(); world.application.remove() }
        let harness = world.harness
        try await Self.run(harness.fresh.store.repository, harness: harness, application: world.application, providerKey: world.providerKey)
    }

    static func run<Repository: TenantRepository>(_ repository: Repository, harness: TenantHarness, application: DataSourceTests.Application,
                                                   providerKey: String) async throws {
        let unsigned = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms)
        let signed = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms,
                                      configuration: TenantCryptoConfiguration(envelope: EnvelopeConfiguration(suite: .aes256GCMHKDFSHA512CommitKeyECDSAP384)))
        let purpose = try EncryptionContext([("purpose", "sweep")])
        // Generation 0: 12 rows, every third signed; a few second columns.
        var expected: [Int: [UInt8]] = [:]
        for number in 1...12 {
            let crypto = number % 3 == 0 ? signed : unsigned
            let message = try await crypto.encrypt(tenant: "acme", plaintext: Self.plaintext(number), context: purpose).ciphertext
            try await application.insert(number, tenant: "acme", values: [message, nil])
            expected[number] = Self.plaintext(number)
        }
        // Items the sweep cannot move: not a message, another key entirely, a damaged message.
        try await application.insert(13, tenant: "acme", values: [Array("plain text, never encrypted".utf8), nil])
        let raw = try RawAESKeyring(namespace: "app", name: "legacy", wrappingKey: SymmetricKey(size: .bits256))
        try await application.insert(14, tenant: "acme", values: [try await Envelope().encrypt([1, 2, 3], keyring: raw), nil])
        var damaged = try await unsigned.encrypt(tenant: "acme", plaintext: Self.plaintext(15), context: purpose).ciphertext
        let headerEnd = try MessageHeaderSummary(reading: damaged).headerLength
        damaged[headerEnd - 1] ^= 0x01
        try await application.insert(15, tenant: "acme", values: [damaged, nil])

        let tenantKey = try await harness.localKey("acme-root")
        try await harness.enroll("acme", keys: [tenantKey], tag: "acmeprod")
        // Written after the switch: already current.
        for number in 16...17 {
            let message = try await unsigned.encrypt(tenant: "acme", plaintext: Self.plaintext(number), context: purpose)
            #expect(message.generation == 1)
            try await application.insert(number, tenant: "acme", values: [message.ciphertext, nil])
            expected[number] = Self.plaintext(number)
        }

        let source = try await application.open()
        defer { Task { await source.close() } }
        let sweep = Reencryption(crypto: unsigned, kms: harness.kms)
        var cursor: ItemID?
        var total = ReencryptionPage(cursor: nil, finished: false)
        var pages = 0
        repeat {
            let page = try await sweep.sweep(tenant: "acme", source: source, after: cursor, limit: 4)
            cursor = page.cursor
            total.finished = page.finished
            total.scanned += page.scanned
            total.current += page.current
            total.rewrapped += page.rewrapped
            total.reencrypted += page.reencrypted
            total.lostRaces += page.lostRaces
            total.failures += page.failures
            pages += 1
        } while !total.finished
        #expect(pages == 6)
        #expect(total.scanned == 17)
        #expect(total.current == 2)
        #expect(total.rewrapped == 8)
        #expect(total.reencrypted == 4)
        let reasons = Dictionary(uniqueKeysWithValues: total.failures.map { ($0.id, $0.reason) })
        #expect(reasons == [application.id(13, tenant: "acme"): .notAMessage, application.id(14, tenant: "acme"): .unknownKeys(["app legacy"]),
                            application.id(15, tenant: "acme"): .undecryptable])

        // Every moved item is under generation 1 now, decrypts to its plaintext with the tenant's key,
        // and the provider key alone opens none of them.
        let providerOnly = KMSKeyring(client: try harness.localKMS, generatorKeyID: providerKey)
        for (number, plaintext) in expected.sorted(by: { $0.key < $1.key }) {
            let id = application.id(number, tenant: "acme")
            let stored = try #require(try await source.item(id: id, column: application.columns[0]))
            let decrypted = try await unsigned.decrypt(tenant: "acme", ciphertext: stored, context: purpose)
            #expect(decrypted.plaintext == plaintext, "item \(number)")
            #expect(decrypted.generation == 1, "item \(number)")
            await #expect(throws: (any Error).self, "item \(number) still opens with the provider key") {
                _ = try await Envelope().decrypt(stored, keyring: providerOnly)
            }
        }
        // A second sweep finds nothing behind.
        let again = try await sweep.sweep(tenant: "acme", source: source, after: nil, limit: 100)
        #expect(again.current == 14 && again.rewrapped == 0 && again.reencrypted == 0 && again.failures.count == 3)
    }

    /// A revoked key (the old generation's or the new one's) stops the page with the KMS's verdict
    /// before anything is written, never as "undecryptable" items; with the key back it completes.
    @Test(arguments: Kind.allCases)
    func aRevokedKeyStopsThePageWithNothingWritten(kind: Kind) async throws {
        let world = try await Self.world(kind)
        defer { world.harness.remove(); world.application.remove() }
        try await Self.revoke(world.harness.fresh.store.repository, harness: world.harness, application: world.application,
                              providerKey: world.providerKey)
    }

    static func revoke<Repository: TenantRepository>(_ repository: Repository, harness: TenantHarness,
                                                     application: DataSourceTests.Application, providerKey: String) async throws {
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms)
        let signed = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms,
                                      configuration: TenantCryptoConfiguration(envelope: EnvelopeConfiguration(suite: .aes256GCMHKDFSHA512CommitKeyECDSAP384)))
        var before: [[UInt8]] = []
        for number in 1...4 {
            let message = try await (number.isMultiple(of: 2) ? signed : crypto).encrypt(tenant: "acme", plaintext: Self.plaintext(number)).ciphertext
            try await application.insert(number, tenant: "acme", values: [message, nil])
            before.append(message)
        }
        let tenantKey = try await harness.localKey("acme-root")
        try await harness.enroll("acme", keys: [tenantKey], tag: "acmeprod")
        let source = try await application.open()
        defer { Task { await source.close() } }
        func stored() async throws -> [[UInt8]] {
            var result: [[UInt8]] = []
            for number in 1...4 { result.append(try #require(try await source.item(id: application.id(number, tenant: "acme"), column: application.columns[0]))) }
            return result
        }

        for key in [providerKey, tenantKey] {
            // A fresh sweep and cache each time, as after a restart: nothing cached hides the revocation.
            try await harness.localKMS.disableKey(keyID: key)
            let fresh = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms)
            for mode in Reencryption<Repository>.Mode.allCases {
                let error = await #expect(throws: KMSError.self) {
                    _ = try await Reencryption(crypto: fresh, kms: harness.kms, mode: mode).sweep(tenant: "acme", source: source, after: nil, limit: 10)
                }
                #expect(error?.code.failureClass == .revocation, "\(String(describing: error))")
                #expect(try await stored() == before, "an item was written while a key was disabled")
            }
            try await harness.localKMS.enableKey(keyID: key)
        }
        let page = try await Reencryption(crypto: crypto, kms: harness.kms).sweep(tenant: "acme", source: source, after: nil, limit: 10)
        #expect(page.rewrapped == 2 && page.reencrypted == 2 && page.failures.isEmpty)
        for (index, message) in try await stored().enumerated() {
            #expect(try await crypto.decrypt(tenant: "acme", ciphertext: message).plaintext == Self.plaintext(index + 1))
        }
    }

    /// An application write between the sweep's read and its compare-and-swap is kept: the swap
    /// fails, the sweep re-reads the item and moves the new value.
    @Test(arguments: Kind.allCases)
    func aRacingApplicationWriteIsNeverLost(kind: Kind) async throws {
        let world = try await Self.world(kind)
        defer { world.harness.remove(); world.application.remove() }
        try await Self.race(world.harness.fresh.store.repository, harness: world.harness, application: world.application)
    }

    static func race<Repository: TenantRepository>(_ repository: Repository, harness: TenantHarness,
                                                   application: DataSourceTests.Application) async throws {
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms)
        let first = try await crypto.encrypt(tenant: "acme", plaintext: Array("before".utf8)).ciphertext
        try await application.insert(1, tenant: "acme", values: [first, nil])
        try await harness.enroll("acme", keys: [try await harness.localKey("acme-root")], tag: "acmeprod")
        let source = RacingSource(underlying: try await application.open(), racer: {
            // The application writes a new value (under the current generation, as it does after a switch).
            try await crypto.encrypt(tenant: "acme", plaintext: Array("written during the sweep".utf8)).ciphertext
        })
        defer { Task { await source.close() } }
        let page = try await Reencryption(crypto: crypto, kms: harness.kms).sweep(tenant: "acme", source: source, after: nil, limit: 10)
        #expect(page.lostRaces == 1)
        #expect(page.scanned == 1 && page.current == 1 && page.rewrapped == 0)
        #expect(page.failures.isEmpty)
        let stored = try #require(try await source.item(id: application.id(1, tenant: "acme"), column: application.columns[0]))
        let decrypted = try await crypto.decrypt(tenant: "acme", ciphertext: stored)
        #expect(decrypted.plaintext == Array("written during the sweep".utf8), "the application's write was lost")
        #expect(decrypted.generation == 1)
    }
}

/// A real source with an application that writes each item once, just before the sweep's first
/// compare-and-swap of it: the race made deterministic.
final class RacingSource: DataSource, @unchecked Sendable {
    // Guarded by `lock`.
    private var raced: Set<String> = []
    private let lock = NSLock()
    let underlying: any DataSource
    let racer: @Sendable () async throws -> [UInt8]

    init(underlying: any DataSource, racer: @escaping @Sendable () async throws -> [UInt8]) {
        self.underlying = underlying
        self.racer = racer
    }

    var configuration: DataSourceConfiguration { underlying.configuration }

    func batch(tenant: String, after cursor: ItemID?, limit: Int) async throws -> DataSourceBatch {
        try await underlying.batch(tenant: tenant, after: cursor, limit: limit)
    }

    func item(id: ItemID, column: String) async throws -> [UInt8]? { try await underlying.item(id: id, column: column) }

    func compareAndSwap(id: ItemID, column: String, old: [UInt8], new: [UInt8]) async throws -> Bool {
        let first = lock.withLock { raced.insert("\(id)/\(column)").inserted }
        if first {
            let written = try await racer()
            #expect(try await underlying.compareAndSwap(id: id, column: column, old: old, new: written))
        }
        return try await underlying.compareAndSwap(id: id, column: column, old: old, new: new)
    }

    func write(_ items: [DataSourceItem], tenant: String) async throws -> [DataSourceWrite] {
        try await underlying.write(items, tenant: tenant)
    }

    func check() async -> [DataSourceFinding] { await underlying.check() }
    func close() async { await underlying.close() }
}
