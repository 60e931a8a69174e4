import AsyncHTTPClient
import CMKKMS
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// Revocation checks on the local KMS, through the engine on both backends: only the probe's
/// revocation-class answer suspends; a pass closes (after a re-probe) or reinstates; an outage of our
/// own never touches the tenant.
@Suite struct RevocationTests {
    static let plaintext = Array("Payroll of tenant acme.".utf8)

    /// acme enrolled on its own key (generation 1); returns the key.
    func enrolledAcme(_ harness: TenantHarness) async throws -> String {
        let key = try await harness.localKey("acme-root")
        try await harness.enroll("acme", keys: [key], tag: "acmeprod")
        return key
    }

    /// The states an execution entered, in order.
    func entered(_ harness: TenantHarness, _ execution: String) async throws -> [String] {
        try await harness.journal.history(of: execution).filter { $0.kind == EventKind.stateEntered }.compactMap(\.state)
    }

    func event(_ id: String, _ name: String = "DisableKey", key: String) -> RevocationTrigger {
        RevocationTrigger(kind: .event, id: id, eventTime: Date(timeIntervalSinceNow: -2), summary: name, key: key)
    }

    @Test(arguments: TestBackend.allCases)
    func aDisabledKeyConfirmedByTheProbeSuspendsWithItsEvidence(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await enrolledAcme(harness)
        let crypto = try harness.crypto()
        let message = try await crypto.encrypt("acme", Self.plaintext, .empty).ciphertext

        try await harness.localKMS.disableKey(keyID: key)
        let execution = try await harness.checkRevocation("acme", event("evt-1", key: key))
        try await harness.worker().runUntilIdle()

        let record = try #require(try await harness.store.tenant("acme"))
        #expect(record.state == .suspended)
        let snapshot = try #require(try await harness.journal.execution(named: execution))
        #expect(snapshot.status == .succeeded)
        #expect(try await entered(harness, execution).last == "Suspended")
        let suspension = try #require(try await harness.store.auditEntries(tenant: "acme").last { $0.action == "active -> suspended" })
        #expect(suspension.detail["verdict"] == "disabled")
        #expect(suspension.detail["class"] == "revocation")
        #expect(suspension.detail["key"] == key)
        #expect(suspension.detail["trigger"] == "event evt-1")
        #expect(suspension.detail["eventTime"] != nil && suspension.detail["probedAt"] != nil && suspension.detail["suspendedAt"] != nil)
        let refused = await #expect(throws: TenantError.self) { try await crypto.decrypt("acme", message, .empty) }
        #expect(refused?.code == .tenantSuspended)

        // The same event again is the same check: nothing more happens.
        let again = try await harness.checkRevocation("acme", event("evt-1", key: key))
        #expect(again == execution)

        // The key back, a sweep's probe passes and reinstates.
        try await harness.localKMS.enableKey(keyID: key)
        let sweep = try await harness.checkRevocation("acme", RevocationTrigger(kind: .sweep, id: "sweep-1"))
        try await harness.worker().runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .active)
        #expect(try await entered(harness, sweep).last == "Reinstated")
        #expect(try await crypto.decrypt("acme", message, .empty).plaintext == Self.plaintext)
    }

    /// A real-looking event for a key that was not disabled: probed, probed again after the window,
    /// closed; the tenant never moves.
    @Test(arguments: TestBackend.allCases)
    func anEventForAWorkingKeyIsProbedTwiceAndClosedWithoutASuspension(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await enrolledAcme(harness)
        let execution = try await harness.checkRevocation("acme", event("evt-forged", "ScheduleKeyDeletion", key: key))
        try await harness.worker().runUntilIdle()
        let snapshot = try #require(try await harness.journal.execution(named: execution))
        #expect(snapshot.status == .succeeded)
        #expect(try await entered(harness, execution) == ["Turn", "Probe", "Decide", "WaitToReprobe", "MarkReprobe", "Probe", "Decide", "Closed", "Done"])
        let events = try await harness.journal.history(of: execution)
        let probes = events.filter { (event: WorkflowEvent) in event.kind == EventKind.taskSucceeded && event.state == "Probe" }
        #expect(probes.count == 2)
        #expect(try await harness.store.tenant("acme")?.state == .active)
        let closed = try #require(try await harness.store.auditEntries(tenant: "acme").last)
        #expect(closed.action == "revocation check closed" && closed.detail["verdict"] == "passed")
    }

    /// Our own setup broken (the local KMS file gone): the probe fails as a misconfiguration, is retried
    /// later, and the tenant stays active however its key stands.
    @Test func ourOwnMisconfigurationNeverSuspends() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        let key = try await enrolledAcme(harness)
        try await harness.localKMS.disableKey(keyID: key)
        let kmsFile = harness.configuration.localKMSPath
        try FileManager.default.moveItem(atPath: kmsFile, toPath: kmsFile + ".away")
        let execution = try await harness.checkRevocation("acme", event("evt-2", key: key))
        try await harness.worker().runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .active)
        let snapshot = try #require(try await harness.journal.execution(named: execution))
        #expect(snapshot.status == .running && snapshot.stateName == "Probe")
        let events = try await harness.journal.history(of: execution)
        let failures = events.filter { (event: WorkflowEvent) in event.kind == EventKind.taskFailed }
        #expect(failures.contains { "\($0.detail)".contains("KMS.Misconfigured") })
    }

    /// A tenant still on the provider's key is never suspended by a check: that key is the operator's.
    @Test func aTenantOnTheProvidersKeyIsSkipped() async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        try await harness.providerKey()
        try await harness.add("globex", tag: "globexprod")
        let execution = try await harness.checkRevocation("globex", RevocationTrigger(kind: .sweep, id: "s"))
        try await harness.worker().runUntilIdle()
        #expect(try await entered(harness, execution) == ["Turn", "Probe", "Decide", "Closed", "Done"])
        #expect(try await harness.store.tenant("globex")?.state == .registered)
    }
}

/// The notifier against the Python receiver: a 503 is a step failure the definition retries (with the
/// same id), a 2xx a delivery; no configuration, no request.
@Suite struct OperatorNotifierTests {
    @Test func aRefusedDeliveryFailsTheStepAndTheRetryCarriesTheSameID() async throws {
        let directory = NSTemporaryDirectory() + "notifier-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try await WebhookReceiver(directory: directory, secret: StandardWebhook.generateSecret(), failFirst: 1)
        defer { receiver.stop() }
        let http = HTTPClient.shared
        let transport: OperatorNotifier.Transport = { url, headers, body in
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            for header in headers { request.headers.add(name: header.name, value: header.value) }
            request.body = .bytes(body)
            return Int(try await http.execute(request, timeout: .seconds(10)).status.code)
        }
        let notifier = OperatorNotifier(settings: NotificationSettings(url: receiver.url, secretFile: receiver.secretFile), transport: transport)
        let failure = await #expect(throws: TaskFailure.self) {
            try await notifier.deliver(.suspended, id: "revocation-acme/tenant.suspended", tenant: "acme", data: ["state": "suspended"], at: Date())
        }
        #expect(failure?.error == OperatorNotifier.failed && failure?.cause.contains("HTTP 503") == true)
        let outcome = try await notifier.deliver(.suspended, id: "revocation-acme/tenant.suspended", tenant: "acme", data: ["state": "suspended"],
                                                 at: Date())
        #expect(outcome == .delivered(status: 204))
        let received = receiver.received()
        #expect(received.map(\.failed) == [true, false] && received.map(\.verified) == [true, true])
        #expect(Set(received.compactMap(\.id)) == ["revocation-acme/tenant.suspended"])
        #expect(try await OperatorNotifier.disabled.deliver(.reinstated, id: "x", tenant: "acme", data: [:], at: Date()) == .notConfigured)
    }
}

/// The probe schedule of `serve`, on a manual clock: one sweep per period however many servers start
/// it, suspended tenants included (a pass reinstates them), tenants on the provider's key left out.
@Suite struct ProbeScheduleTests {
    @Test(arguments: TestBackend.allCases)
    func onePeriodOneCheckPerTenantWhateverTheServers(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await Self.scenario(harness, repository: harness.store)
    }

    /// Turns spread a fleet's probes over the period, the same on every server; a sweep started mid-period
    /// puts the turns already past into what is left of it, never all at once.
    @Test func turnsSpreadEvenlyAndAServerStartedMidPeriodSpreadsWhatIsLeft() async throws {
        let harness = try await TenantHarness(.sqlite)
        defer { harness.remove() }
        try Self.turns(harness, repository: harness.store)
    }

    static func turns<Repository: TenantRepository>(_ harness: TenantHarness, repository: Repository) throws {
        let schedule = ProbeSchedule(revocations: RevocationService(journal: harness.journal, repository: repository,
                                                                    definition: harness.revocationDefinition), period: 3600)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let tenants = (0..<1000).map { "tenant\($0)" }
        let offsets = tenants.map { schedule.turn(of: $0, at: start).timeIntervalSince(start) }
        #expect(offsets.allSatisfy { $0 >= 0 && $0 < 3600 })
        // Ten equal slices of the period each hold 100 ± 40 of the 1000 turns.
        let slices = Dictionary(grouping: offsets) { Int($0 / 360) }.mapValues(\.count)
        #expect(slices.count == 10 && slices.values.allSatisfy { (60...140).contains($0) }, "\(slices)")
        // Started 45 minutes in: every turn lies in the last 15 minutes, none in the past, spread over them.
        let late = start.addingTimeInterval(2700)
        let lateOffsets = tenants.map { schedule.turn(of: $0, at: late).timeIntervalSince(late) }
        #expect(lateOffsets.allSatisfy { $0 >= 0 && $0 < 900 })
        #expect(lateOffsets.filter { $0 < 90 }.count < 250, "not bunched at the start")
        // The next period is back to the regular offsets: each tenant a period after its turn in this one.
        let next = start.addingTimeInterval(3600)
        let nextOffsets = tenants.map { schedule.turn(of: $0, at: next).timeIntervalSince(next) }
        #expect(zip(nextOffsets, offsets).allSatisfy { abs($0 - $1) < 0.001 })
    }

    static func scenario<Repository: TenantRepository>(_ harness: TenantHarness, repository: Repository) async throws {
        let key = try await harness.localKey("acme-root")
        try await harness.enroll("acme", keys: [key], tag: "acmeprod")
        try await harness.providerKey()
        try await harness.add("globex", tag: "globexprod")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let revocations = RevocationService(journal: harness.journal, repository: repository, definition: harness.revocationDefinition,
                                            reprobeSeconds: 0, now: { clock.now() })
        let first = ProbeSchedule(revocations: revocations, period: 3600, clock: clock)
        let second = ProbeSchedule(revocations: revocations, period: 3600, clock: clock)
        let periodStart = clock.now()
        #expect(try await first.sweep(at: clock.now()) == 1)
        #expect(try await second.sweep(at: clock.now()) == 0)
        try await harness.localKMS.disableKey(keyID: key)
        // The check waits for acme's turn in the period; until then nothing is probed.
        let turn = first.turn(of: "acme", at: clock.now())
        #expect(turn >= periodStart && turn < periodStart.addingTimeInterval(3600))
        #expect(turn == second.turn(of: "acme", at: periodStart.addingTimeInterval(1)), "every server computes the same turn")
        try await harness.worker(clock: clock).runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .active)
        // At its turn the check probes: the key was disabled after the check started, so it suspends.
        clock.advance(by: turn.timeIntervalSince(clock.now()))
        try await harness.worker(clock: clock).runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .suspended)

        // The next period probes the suspended tenant again (at the same offset); its key back, it is reinstated.
        try await harness.localKMS.enableKey(keyID: key)
        clock.advance(by: periodStart.addingTimeInterval(3600).timeIntervalSince(clock.now()))
        #expect(try await second.sweep(at: clock.now()) == 1)
        #expect(abs(first.turn(of: "acme", at: clock.now()).timeIntervalSince(turn) - 3600) < 0.001, "a period apart")
        clock.advance(by: 3599)
        try await harness.worker(clock: clock).runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .active)
        #expect(first.run(at: clock.now()) == "sweep-1800003600")
        let names = try await harness.journal.executions(status: nil).map(\.name).filter { $0.hasPrefix("revocation-") }.sorted()
        #expect(names == ["revocation-acme-sweep-sweep-1800000000", "revocation-acme-sweep-sweep-1800003600"])

        // Suspended again: probed 1, 2, 4, ... minutes after, so the key back reinstates within minutes.
        try await harness.localKMS.disableKey(keyID: key)
        clock.advance(by: .seconds(1))
        #expect(try await first.sweep(at: clock.now()) == 1)
        clock.advance(by: 3599)
        try await harness.worker(clock: clock).runUntilIdle()
        let suspendedAt = try #require(try await harness.store.tenant("acme")).updatedAt
        #expect(first.reinstatementRound(suspendedAt: suspendedAt, at: suspendedAt.addingTimeInterval(59)) == nil)
        #expect(first.reinstatementRound(suspendedAt: suspendedAt, at: suspendedAt.addingTimeInterval(60)) == 0)
        #expect(first.reinstatementRound(suspendedAt: suspendedAt, at: suspendedAt.addingTimeInterval(250)) == 2)
        #expect(first.reinstatementRound(suspendedAt: suspendedAt, at: suspendedAt.addingTimeInterval(3000)) == 5)
        #expect(first.reinstatementRound(suspendedAt: suspendedAt, at: suspendedAt.addingTimeInterval(4000)) == nil, "the period's sweep takes over")
        #expect(try await first.reinstatementChecks(at: suspendedAt.addingTimeInterval(61)) == 1)
        #expect(try await second.reinstatementChecks(at: suspendedAt.addingTimeInterval(90)) == 0, "the same round once, whatever the servers")
        try await harness.worker().runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .suspended, "the key is still disabled")
        try await harness.localKMS.enableKey(keyID: key)
        #expect(try await second.reinstatementChecks(at: suspendedAt.addingTimeInterval(130)) == 1)
        try await harness.worker().runUntilIdle()
        #expect(try await harness.store.tenant("acme")?.state == .active)
    }
}

/// KMS itself away during a check (moto stopped after the tenant enrolled on it): the probe fails as
/// transient, is retried with backoff, the tenant is never touched, and `status` raises an alert.
@Suite(.serialized) struct RevocationOutageTests {
    @Test func anUnreachableKMSNeverSuspendsAndRaisesAnAlert() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await EnrollmentMotoTests().harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let policy = EnrollmentMotoTests.policy(principal: principal, cryptoActions: EnrollmentMotoTests.allCrypto)
            let key = try await harness.kms.client(forKey: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
                .createKey(description: "acme", policy: policy)
            #expect(try await harness.enroll("acme", keys: [key.arn], tag: "acmeprod").state == "active")

            moto.stop()
            let execution = try await harness.checkRevocation("acme", RevocationTrigger(kind: .event, id: "evt-outage", summary: "DisableKey"))
            try await harness.worker().runUntilIdle()
            #expect(try await harness.store.tenant("acme")?.state == .active)
            let history = try await harness.journal.history(of: execution)
            #expect(history.contains { $0.kind == .taskFailed && $0.detail["error"]?.stringValue == "KMS.Unavailable" })
            #expect(history.contains { $0.kind == .retryScheduled })
            let status = try #require(try await harness.overview.status(tenant: "acme").first)
            #expect(status.alerts.count == 1 && status.alerts[0].contains("cannot probe (KMS.Unavailable"))
        }
    }
}
