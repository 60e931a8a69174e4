import CMKKMS
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// The KMS event intake through the library on both backends: real event documents (the fixtures'
/// shapes) re-aimed at a tenant's local key, API keys scoped to one tenant, Standard Webhooks
/// signatures, repeats, and forgeries that must suspend nothing.
@Suite struct KMSEventIntakeTests {
    static let secret = StandardWebhook.generateSecret()

    /// A fixture event re-aimed at `keyARN` (the local KMS's account and region).
    static func event(_ fixture: String, keyARN: String, id: String) throws -> [UInt8] {
        let arn = try KeyARN(validating: keyARN)
        var text = try String(contentsOfFile: TenantHarness.packageRoot + "/fixtures/kms-events/" + fixture, encoding: .utf8)
        text = text.replacingOccurrences(of: "1234abcd-12ab-34cd-56ef-1234567890ab", with: arn.resourceID)
            .replacingOccurrences(of: "111122223333", with: arn.account).replacingOccurrences(of: "us-east-1", with: arn.region)
            .replacingOccurrences(of: "us-west-2", with: arn.region)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        object["id"] = id
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    @Test(arguments: TestBackend.allCases)
    func anAPIKeyedDisableKeyEventSuspendsOnlyAfterTheProbeAndOnlyItsTenant(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await Self.scenario(harness, repository: harness.store)
    }

    /// A burst of events is bounded per tenant (five running event checks; a sixth event joins them), counted
    /// for that tenant alone: not tenant `acme-eu`'s checks (whose names start like acme's), and not a sweep's
    /// check waiting for its turn.
    @Test func aBurstIsBoundedPerTenantAndOnlyByThatTenantsEventChecks() async throws {
        let harness = try await TenantHarness(.sqlite)
        defer { harness.remove() }
        try await Self.burst(harness, repository: harness.store)
    }

    static func burst<Repository: TenantRepository>(_ harness: TenantHarness, repository: Repository) async throws {
        let acmeKey = try await harness.localKey("acme-root"), euKey = try await harness.localKey("acme-eu-root")
        try await harness.enroll("acme", keys: [acmeKey], tag: "acmeprod")
        try await harness.enroll("acme-eu", keys: [euKey], tag: "acmeeu")
        // The keys work: every check passes its probe and then waits an hour to probe again, so it stays running.
        let revocations = RevocationService(journal: harness.journal, repository: repository, definition: harness.revocationDefinition,
                                            reprobeSeconds: 3600)
        let intake = KMSEventIntake(repository: repository, revocations: revocations, signatures: nil)
        let (acmeRecord, acmeSecret) = WebhookKey.issue(tenant: "acme", at: Date())
        let (euRecord, euSecret) = WebhookKey.issue(tenant: "acme-eu", at: Date())
        _ = try await repository.write { transaction in
            try await repository.insertWebhookKey(acmeRecord, in: transaction)
            try await repository.insertWebhookKey(euRecord, in: transaction)
        }
        func eventChecks(_ tenant: String) async throws -> Int {
            try await harness.journal.executions(status: .running).filter { $0.name.hasPrefix("revocation-\(tenant)-event-") }.count
        }
        for index in 0..<5 {
            _ = try await intake.receive(body: try event("cloudtrail-disable-key.json", keyARN: euKey, id: "evt-eu-\(index)"),
                                         credential: .apiKey(euSecret))
        }
        _ = try await revocations.check(tenant: "acme", trigger: RevocationTrigger(kind: .sweep, id: "sweep-1"),
                                        notBefore: Date(timeIntervalSinceNow: 3600))
        try await harness.worker().runUntilIdle()
        #expect(try await eventChecks("acme-eu") == 5)
        for index in 0..<6 {
            #expect(try await intake.receive(body: try event("cloudtrail-disable-key.json", keyARN: acmeKey, id: "evt-acme-\(index)"),
                                             credential: .apiKey(acmeSecret)) == .accepted(tenants: ["acme"]))
            try await harness.worker().runUntilIdle()
        }
        #expect(try await eventChecks("acme") == 5, "five of acme's own, whatever acme-eu and the sweep run; the sixth joined them")
        #expect(try await harness.store.tenant("acme")?.state == .active)
    }

    static func scenario<Repository: TenantRepository>(_ harness: TenantHarness, repository: Repository) async throws {
        let acmeKey = try await harness.localKey("acme-root"), globexKey = try await harness.localKey("globex-root")
        try await harness.enroll("acme", keys: [acmeKey], tag: "acmeprod")
        try await harness.enroll("globex", keys: [globexKey], tag: "globexprod")
        let intake = KMSEventIntake(repository: repository,
                                    revocations: RevocationService(journal: harness.journal, repository: repository,
                                                                   definition: harness.revocationDefinition, reprobeSeconds: 0),
                                    signatures: try StandardWebhook(secrets: [Self.secret]))
        let (acmeRecord, acmeSecret) = WebhookKey.issue(tenant: "acme", at: Date())
        let (globexRecord, globexSecret) = WebhookKey.issue(tenant: "globex", at: Date())
        _ = try await repository.write { transaction in
            try await repository.insertWebhookKey(acmeRecord, in: transaction)
            try await repository.insertWebhookKey(globexRecord, in: transaction)
        }

        // Forgeries first: no key, a wrong key, a bad signature, a stale one, globex's key naming acme's key.
        let disable = try event("cloudtrail-disable-key.json", keyARN: acmeKey, id: "evt-disable-1")
        try await harness.localKMS.disableKey(keyID: acmeKey)
        for credential: KMSEventIntake<Repository>.Credential in [
            .apiKey(""), .apiKey("cmkwh_guess"), .apiKey(acmeSecret + "x"),
            .signature(id: "evt", timestamp: String(Int(Date().timeIntervalSince1970)), signature: "v1,AAAA"),
            .signature(id: nil, timestamp: nil, signature: nil),
        ] {
            let error = await #expect(throws: TenantError.self) { try await intake.receive(body: disable, credential: credential) }
            #expect(error?.code == .unauthorized)
        }
        let stale = try StandardWebhook(secrets: [Self.secret]).headers(id: "evt", timestamp: Date(timeIntervalSinceNow: -400), body: disable)
        let staleError = await #expect(throws: TenantError.self) {
            try await intake.receive(body: disable, credential: .signature(id: stale[0].value, timestamp: stale[1].value, signature: stale[2].value))
        }
        #expect(staleError?.code == .unauthorized)
        #expect(try await intake.receive(body: disable, credential: .apiKey(globexSecret)) == .ignored("it names no key of tenant globex"))
        let malformed = await #expect(throws: TenantError.self) { try await intake.receive(body: Array("{".utf8), credential: .apiKey(acmeSecret)) }
        #expect(malformed?.code == .invalidInput)
        try await harness.worker().runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .active)

        // The real thing: accepted, probed, suspended; the same event again starts nothing.
        #expect(try await intake.receive(body: disable, credential: .apiKey(acmeSecret)) == .accepted(tenants: ["acme"]))
        #expect(try await intake.receive(body: disable, credential: .apiKey(acmeSecret)) == .repeated)
        try await harness.worker().runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .suspended)
        #expect(try await harness.store.tenant("globex")?.state == .active)

        // A failed call changes nothing; a rotation cannot revoke.
        let failed = try event("cloudtrail-disable-key-failed.json", keyARN: globexKey, id: "evt-failed")
        #expect(try await intake.receive(body: failed, credential: .apiKey(globexSecret)) == .ignored("the call failed (AccessDeniedException) and changed nothing"))

        // The key back and an EnableKey event signed by the operator's relay: reinstated.
        try await harness.localKMS.enableKey(keyID: acmeKey)
        let enable = try event("cloudtrail-enable-key.json", keyARN: acmeKey, id: "evt-enable-1")
        let headers = try StandardWebhook(secrets: [Self.secret]).headers(id: "msg-1", timestamp: Date(), body: enable)
        let outcome = try await intake.receive(body: enable, credential: .signature(id: headers[0].value, timestamp: headers[1].value,
                                                                                    signature: headers[2].value))
        #expect(outcome == .accepted(tenants: ["acme"]))
        try await harness.worker().runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .active)

        // A revoked API key is refused.
        _ = try await repository.write { try await repository.revokeWebhookKey(id: acmeRecord.id, at: Date(), in: $0) }
        let revoked = await #expect(throws: TenantError.self) {
            try await intake.receive(body: try event("cmk-deletion.json", keyARN: acmeKey, id: "evt-3"), credential: .apiKey(acmeSecret))
        }
        #expect(revoked?.code == .unauthorized)
        let recorded = try await repository.read { try await repository.receivedEvent(key: "acme:evt-disable-1", in: $0) }
        #expect(recorded?.outcome == "accepted" && recorded?.tenants == ["acme"] && recorded?.summary == "DisableKey")
    }
}
