import CMKEnvelope
import CMKKMS
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// The re-encryption workflow end to end through the engine: an enrollment hands over to it, every
/// item of the data source moves, the ledger is written and the tenant becomes active; a refused key
/// pauses it with nothing half-written, a suspension holds it, and it resumes and completes.
@Suite struct ReencryptionWorkflowTests {
    typealias Kind = DataSourceTests.Kind

    struct World {
        let harness: TenantHarness
        let application: DataSourceTests.Application
        let providerKey: String
        /// Plaintext by row number, and each row's generation-0 ciphertext as first written.
        var plaintexts: [Int: [UInt8]] = [:]
        var originals: [Int: [UInt8]] = [:]
    }

    /// acme on the provider key with `items` rows in a source of `kind`, and a re-encryption of
    /// `batchSize` rows per page whose every page calls the harness's page hook.
    static func world(_ kind: Kind, items: Int, batchSize: Int = 5) async throws -> World {
        let application = try await DataSourceTests.Application(kind)
        var configuration = OperatorConfiguration(dataSources: [application.configuration])
        // A rate this low makes every page wait, which the harness turns into a call of its hook.
        configuration.reencryption = ReencryptionSettings(mode: .rewrap, batchSize: batchSize, kmsCallsPerSecond: 0.001, pauseSeconds: 30)
        let harness = try await TenantHarness(kind == .postgres ? .postgres : .sqlite, configuration: configuration)
        let providerKey = try await harness.localKey("cmkctl-provider")
        try await harness.add("acme", tag: "acmeprod")
        var world = World(harness: harness, application: application, providerKey: providerKey)
        try await write(harness.store, world: &world, items: items)
        return world
    }

    /// Rows 1...items under the current generation, every fourth one signed (re-encrypted in full, never rewrapped).
    static func write(_ repository: some TenantRepository, world: inout World, items: Int) async throws {
        let harness = world.harness
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms)
        let signed = try TenantCrypto(repository: repository, operatorConfiguration: harness.configuration, kms: harness.kms,
                                      configuration: TenantCryptoConfiguration(envelope: EnvelopeConfiguration(suite: .aes256GCMHKDFSHA512CommitKeyECDSAP384)))
        for number in 1...items {
            let plaintext = Array("item \(number) of acme".utf8)
            let message = try await (number % 4 == 0 ? signed : crypto).encrypt(tenant: "acme", plaintext: plaintext).ciphertext
            try await world.application.insert(number, tenant: "acme", values: [message, nil])
            world.plaintexts[number] = plaintext
            world.originals[number] = message
        }
    }

    /// The generation of each row as its header says, and its plaintext through the tenant's keys.
    static func check(_ world: World, expectAllUnder generation: Int? = nil) async throws -> [Int: Int] {
        try await check(world.harness.store, world, expectAllUnder: generation)
    }

    static func check(_ repository: some TenantRepository, _ world: World, expectAllUnder generation: Int?) async throws -> [Int: Int] {
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: world.harness.configuration, kms: world.harness.kms)
        let source = try await world.application.open()
        var generations: [Int: Int] = [:]
        for (number, plaintext) in world.plaintexts.sorted(by: { $0.key < $1.key }) {
            let stored = try #require(try await source.item(id: world.application.id(number, tenant: "acme"), column: world.application.columns[0]))
            let summary = try MessageHeaderSummary(reading: stored)
            let underProvider = summary.encryptedDataKeys.contains { String(decoding: $0.providerInfo, as: UTF8.self) == world.providerKey }
            generations[number] = underProvider ? 0 : 1
            if let generation { #expect(generations[number] == generation, "item \(number)") }
            // Nothing half-written: a row is either its original bytes or a message that opens.
            if stored != world.originals[number] {
                let decrypted = try await crypto.decrypt(tenant: "acme", ciphertext: stored)
                #expect(decrypted.plaintext == plaintext, "item \(number)")
            }
        }
        await source.close()
        return generations
    }

    @Test(arguments: Kind.allCases)
    func anEnrollmentMovesEveryItemWritesTheLedgerAndActivates(kind: Kind) async throws {
        let world = try await Self.world(kind, items: 23)
        defer { world.harness.remove(); world.application.remove() }
        let harness = world.harness
        let tenantKey = try await harness.localKey("acme-root")
        let status = try await harness.enroll("acme", keys: [tenantKey], tag: "acmeprod")
        #expect(status.state == "active")
        let record = try #require(status.reencryption)
        #expect(record.status == .completed)
        #expect(record.target == 1)
        #expect(record.progress.moved == 23)
        #expect(record.progress.total == 23)
        #expect(record.progress.reencrypted == 5, "every fourth item is signed: re-encrypted in full")
        #expect(record.progress.passes == 2, "one pass moves, the second verifies")
        #expect(status.ledger.map { "\($0.source) g\($0.generation)=\($0.items)" } == ["\(world.application.configuration.name) g1=23"])
        let generations = try await Self.check(world, expectAllUnder: 1)
        #expect(generations.count == 23)
        // The provider key alone opens none of them.
        let providerOnly = KMSKeyring(client: try harness.localKMS, generatorKeyID: world.providerKey)
        let source = try await world.application.open()
        for number in 1...23 {
            let stored = try #require(try await source.item(id: world.application.id(number, tenant: "acme"), column: world.application.columns[0]))
            await #expect(throws: (any Error).self) { _ = try await Envelope().decrypt(stored, keyring: providerOnly) }
        }
        await source.close()
        // The tenant passed through re-encrypting, by the hand-over.
        let history = try await harness.overview.history(tenant: "acme")
        #expect(history.contains { $0.what == "transition: probing -> re-encrypting" }, "\(history.map(\.what))")
        #expect(history.contains { $0.what == "transition: re-encrypting -> active" })
    }

    @Test func theOldKeyDisabledMidSweepPausesItAndEnabledAgainItCompletes() async throws {
        let world = try await Self.world(.sqlite, items: 30)
        defer { world.harness.remove(); world.application.remove() }
        let harness = world.harness
        let kms = try harness.localKMS
        let providerKey = world.providerKey
        harness.pageHook.set { page in
            if page == 2 { try await kms.disableKey(keyID: providerKey) }
        }
        let tenantKey = try await harness.localKey("acme-root")
        let status = try await harness.enroll("acme", keys: [tenantKey], tag: "acmeprod")
        #expect(status.state == "re-encrypting")
        let record = try #require(status.reencryption)
        #expect(record.status == .paused)
        #expect(record.progress.moved == 10, "two pages of five moved before the key was refused")
        #expect(record.progress.pausedReason?.contains("disabled") == true, "\(record.progress.pausedReason ?? "nil")")
        #expect(status.waitingFor?.contains("paused") == true)
        let execution = try #require(try await harness.journal.execution(named: record.execution))
        #expect(execution.stateName == "Pause")
        let generations = try await Self.check(world)
        #expect(generations.values.filter { $0 == 1 }.count == 10)

        // The key back: the pause's re-check (here a signal) resumes it from the same page.
        try await kms.enableKey(keyID: providerKey)
        _ = try await harness.journal.signal(execution: record.execution, payload: ["keyBack": true], now: Date())
        let after = try await harness.drive("acme")
        #expect(after.state == "active")
        #expect(after.reencryption?.status == .completed)
        #expect(after.reencryption?.progress.moved == 30)
        _ = try await Self.check(world, expectAllUnder: 1)
    }

    @Test func aSuspensionHoldsTheSweepAndReinstatementReturnsToIt() async throws {
        let world = try await Self.world(.sqlite, items: 20)
        defer { world.harness.remove(); world.application.remove() }
        let harness = world.harness
        let tenantKey = try await harness.localKey("acme-root")
        let kms = try harness.localKMS
        harness.pageHook.set { page in
            if page == 1 { try await kms.disableKey(keyID: tenantKey) }
        }
        var status = try await harness.enroll("acme", keys: [tenantKey], tag: "acmeprod")
        #expect(status.reencryption?.status == .paused)
        // Our own probe confirms the revocation: suspended, and the sweep stays held.
        try await harness.checkRevocation("acme", RevocationTrigger(kind: .manual, id: "check-1"))
        status = try await harness.drive("acme")
        #expect(status.state == "suspended")
        #expect(status.reencryption?.status == .paused)
        // The key back: a passing probe reinstates the tenant to re-encrypting, not active.
        try await kms.enableKey(keyID: tenantKey)
        try await harness.checkRevocation("acme", RevocationTrigger(kind: .manual, id: "check-2"))
        status = try await harness.drive("acme")
        #expect(status.state == "re-encrypting")
        let history = try await harness.overview.history(tenant: "acme")
        #expect(history.contains { $0.what == "transition: suspended -> re-encrypting" }, "\(history.map(\.what))")
        _ = try await harness.journal.signal(execution: try #require(status.reencryption?.execution), payload: ["resume": true], now: Date())
        status = try await harness.drive("acme")
        #expect(status.state == "active")
        #expect(status.reencryption?.progress.moved == 20)
        _ = try await Self.check(world, expectAllUnder: 1)
    }

    @Test func anOldItemWrittenBehindTheCursorIsCaughtByTheVerifyingPass() async throws {
        var world = try await Self.world(.sqlite, items: 15)
        defer { world.harness.remove(); world.application.remove() }
        let harness = world.harness
        let application = world.application
        let old = try #require(world.originals[3])
        // An application that wrote with a stale generation, at an id the first pass has passed.
        harness.pageHook.set { page in
            if page == 2 { try await application.insert(0, tenant: "acme", values: [old, nil]) }
        }
        world.plaintexts[0] = world.plaintexts[3]
        world.originals[0] = old
        let tenantKey = try await harness.localKey("acme-root")
        let status = try await harness.enroll("acme", keys: [tenantKey], tag: "acmeprod")
        #expect(status.state == "active")
        let record = try #require(status.reencryption)
        #expect(record.progress.moved == 16)
        #expect(record.progress.passes == 3, "pass 2 moved the late item, pass 3 verified")
        _ = try await Self.check(world, expectAllUnder: 1)
    }
}
