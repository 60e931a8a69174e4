import CMKKMS
import CMKTenant
import CMKTesting
import CMKSQLite
import CMKWorkflow
import Foundation
import GRDB
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Enrollment end to end on the embedded default: the local KMS and the SQLite store.
@Suite struct EnrollmentLocalTests {
    @Test(arguments: TestBackend.allCases)
    func cleanEnrollmentEndsActiveWithItsIdentifierGenerationAndTrail(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await harness.localKey("acme-root")
        let started = try await harness.service.enroll(try harness.request(ticket: "SUP-1", tenant: "acme", keys: [key], tag: "acmeprod"))
        #expect(started.created)
        let status = try await harness.drive("acme")
        #expect(status.state == "active")
        #expect(status.generation == 1)
        #expect(status.keys == [key])
        #expect(status.regions == ["local"])
        #expect(status.executionStatus == "succeeded")
        let identifier = try #require(status.contextIdentifier)
        #expect(identifier.hasPrefix("acmeprod-") && identifier.count == "acmeprod-".count + 6)

        let generations = try await harness.store.generations(of: "acme")
        #expect(generations.map(\.number) == [0, 1])
        #expect(generations[0].providerManaged && !generations[1].providerManaged)
        #expect(generations[1].cause.ticket == "SUP-1")

        // Every lifecycle step and every KMS call is in the trail, with the tenant's context on the calls.
        let entries = try await harness.store.auditEntries(tenant: "acme")
        let transitions = entries.filter { $0.kind == .transition }.map(\.action)
        #expect(transitions == ["(new) -> enrolling", "enrolling -> assigning-context", "context identifier assigned",
                                "assigning-context -> verifying-policy", "verifying-policy -> probing", "key generation 0 -> 1",
                                "probing -> re-encrypting", "re-encrypting -> active"])
        let calls = entries.filter { $0.kind == .kmsCall }
        #expect(calls.map(\.action) == ["GetKeyPolicy", "DescribeKey", "GenerateDataKey", "Decrypt", "Decrypt"])
        #expect(calls.first(where: { $0.action == "GenerateDataKey" })?.detail["encryptionContext"] == "cmk-tenant=\(identifier)")
        #expect(calls.allSatisfy { $0.cause.ticket == "SUP-1" && $0.cause.execution?.hasPrefix("enroll-acme-SUP-1/") == true })
        #expect(try await harness.store.verifyAudit().isIntact)

        let history = try await harness.overview.history(tenant: "acme")
        #expect(history.prefix(2).map(\.what) == ["request: enroll requested", "ExecutionStarted"])
        #expect(history.contains { $0.what == "ExecutionSucceeded" })
    }

    @Test(arguments: TestBackend.allCases)
    func sameTicketIsTheSameEnrollmentAndAnotherTicketIsRefused(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await harness.localKey("acme-root")
        let request = try harness.request(ticket: "SUP-1", tenant: "acme", keys: [key], tag: "acmeprod")
        let first = try await harness.service.enroll(request)
        let again = try await harness.service.enroll(request)
        #expect(first.created && !again.created && first.execution == again.execution)

        let other = try harness.request(ticket: "SUP-2", tenant: "acme", keys: [key], tag: "acmeprod")
        let whileEnrolling = await #expect(throws: TenantError.self) { try await harness.service.enroll(other) }
        #expect(whileEnrolling?.code == .conflict)
        #expect(whileEnrolling?.message.contains("SUP-1") == true)

        #expect(try await harness.drive("acme").state == "active")
        let afterwards = await #expect(throws: TenantError.self) { try await harness.service.enroll(other) }
        #expect(afterwards?.code == .conflict)
        #expect(try await harness.service.enroll(request).created == false)
        #expect(try await harness.journal.executions(status: nil).filter { $0.workflow == EnrollmentWorkflow.name }.count == 1)
        #expect(try await harness.store.auditEntries(tenant: "acme").filter { $0.kind == .request }.count == 1)
        // The same ticket asking for something else is not the same enrollment.
        let otherKey = try await harness.localKey("acme-other")
        let changed = await #expect(throws: TenantError.self) {
            try await harness.service.enroll(try harness.request(ticket: "SUP-1", tenant: "acme", keys: [otherKey], tag: "acmeprod"))
        }
        #expect(changed?.code == .conflict)
        #expect(changed?.message.contains("a change needs a new ticket") == true)
    }

    @Test(arguments: TestBackend.allCases)
    func twoTenantsWithTheSameTagGetDistinctIdentifiers(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let tenants = (1...6).map { "tenant\($0)" }
        for tenant in tenants {
            let key = try await harness.localKey("\(tenant)-root")
            try await harness.service.enroll(try harness.request(ticket: "SUP-\(tenant)", tenant: tenant, keys: [key], tag: "shared"))
        }
        // Two workers at once, as two processes sharing the store would.
        async let one: Bool = try harness.worker(owner: "one").runUntilIdle()
        async let two: Bool = try harness.worker(owner: "two").runUntilIdle()
        _ = try await (one, two)
        _ = try await harness.worker().runUntilIdle()
        var statuses: [TenantStatus] = []
        for tenant in tenants { statuses.append(try await harness.status(tenant)) }
        let identifiers = try statuses.map { try #require($0.contextIdentifier) }
        #expect(Set(identifiers).count == tenants.count)
        #expect(identifiers.allSatisfy { $0.hasPrefix("shared-") })
        #expect(statuses.allSatisfy { $0.state == "active" })
    }

    @Test(arguments: TestBackend.allCases)
    func disabledKeyWaitsForTheCustomerThenResumesOnSignal(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await harness.localKey("globex-root")
        try await harness.localKMS.disableKey(keyID: key)
        let started = try await harness.service.enroll(try harness.request(ticket: "SUP-7", tenant: "globex", keys: [key], tag: "globex"))
        let waiting = try await harness.drive("globex")
        #expect(waiting.state == "awaiting-customer")
        #expect(waiting.generation == 0)
        #expect(waiting.waitingFor?.contains("\(key) failed the probe (disabled at DescribeKey") == true)
        #expect(try await harness.journal.execution(named: started.execution)?.phase == .parked)

        // A signal before the fix re-checks, finds the key still disabled and parks again.
        _ = try await harness.journal.signal(execution: started.execution, payload: ["note": "customer says fixed"], now: Date())
        #expect(try await harness.drive("globex").state == "awaiting-customer")

        try await harness.localKMS.enableKey(keyID: key)
        _ = try await harness.journal.signal(execution: started.execution, payload: ["note": "enabled now"], now: Date())
        let active = try await harness.drive("globex")
        #expect(active.state == "active")
        #expect(active.generation == 1)
        let kinds = try await harness.journal.history(of: started.execution).map(\.kind)
        #expect(kinds.filter { $0 == .parked }.count == 2)
        #expect(kinds.filter { $0 == .signalled }.count == 2)
        let resumed = try await harness.store.auditEntries(tenant: "globex").filter { $0.action == "awaiting-customer -> verifying-policy" }
        #expect(resumed.count == 2 && resumed.allSatisfy { $0.cause.event == "customer signal" })
        #expect(waiting.enrollingKeys == [key])
        #expect(active.enrollingKeys.isEmpty)
    }

    @Test(arguments: TestBackend.allCases)
    func missingPermissionParksUntilThePolicyIsFixedAndASignalArrives(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let principal = harness.configuration.servicePrincipal
        func policy(_ actions: [String]) -> String {
            let list = actions.map { "\"\($0)\"" }.joined(separator: ",")
            return #"{"Version":"2012-10-17","Statement":[{"Sid":"SaaS","Effect":"Allow","Principal":{"AWS":"\#(principal)"},"Action":[\#(list)],"Resource":"*"}]}"#
        }
        let all = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetKeyPolicy"]
        let key = try await harness.localKMS.createKey(description: "umbrella", policy: policy(all.filter { $0 != "kms:GenerateDataKey" }), alias: "umbrella").arn
        let started = try await harness.service.enroll(try harness.request(ticket: "SUP-11", tenant: "umbrella", keys: [key], tag: "umbrella"))
        let waiting = try await harness.drive("umbrella")
        #expect(waiting.state == "awaiting-customer")
        #expect(waiting.waitingFor == "fix the key policy of \(key): action-missing kms:GenerateDataKey")
        try await harness.localKMS.putKeyPolicy(keyID: key, policy: policy(all))
        _ = try await harness.journal.signal(execution: started.execution, payload: ["fixed": true], now: Date())
        #expect(try await harness.drive("umbrella").state == "active")
    }

    @Test(arguments: TestBackend.allCases)
    func blockedEnrollmentRechecksOnItsOwnWithGrowingDelays(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend, configuration: OperatorConfiguration(recheckInitialSeconds: 0.2, recheckMaxSeconds: 0.4))
        defer { harness.remove() }
        let key = try await harness.localKey("initech-root")
        try await harness.localKMS.disableKey(keyID: key)
        let started = try await harness.service.enroll(try harness.request(ticket: "SUP-8", tenant: "initech", keys: [key], tag: "initech"))
        #expect(try await harness.drive("initech").state == "awaiting-customer")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await harness.drive("initech").state == "awaiting-customer")
        try await harness.localKMS.enableKey(keyID: key)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await harness.drive("initech").state == "active")
        let resumed = try await harness.store.auditEntries(tenant: "initech").filter { $0.action == "awaiting-customer -> verifying-policy" }
        #expect(!resumed.isEmpty && resumed.allSatisfy { $0.cause.event == "re-check timer" })
        // The park deadlines: 0.2 s, then 0.4 s (doubled, capped at the maximum) however many re-checks a
        // slow machine fits in before the key is enabled (wall-clock sleeps: at least two).
        let parked = try await harness.journal.history(of: started.execution).filter { $0.kind == .parked }
        #expect(parked.count >= 2)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let delays = parked.compactMap { event in
            event.detail["deadline"]?.stringValue.flatMap { formatter.date(from: $0) }.map { $0.timeIntervalSince(event.at) }
        }
        #expect(delays.count == parked.count)
        if let first = delays.first {
            #expect(abs(first - 0.2) < 0.05, "\(delays)")
            #expect(delays.dropFirst().allSatisfy { abs($0 - 0.4) < 0.05 }, "\(delays)")
        }
    }

    @Test(arguments: TestBackend.allCases)
    func theIdentifierAndTagCannotBeChangedInTheStore(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await harness.localKey("acme-root")
        try await harness.service.enroll(try harness.request(ticket: "SUP-1", tenant: "acme", keys: [key], tag: "acmeprod"))
        try await harness.drive("acme")
        await #expect(throws: (any Error).self) {
            try await harness.rawSQL("UPDATE tenants SET context_id = 'other-123456' WHERE id = 'acme'")
        }
        await #expect(throws: (any Error).self) {
            try await harness.rawSQL("UPDATE tenants SET tag = 'other' WHERE id = 'acme'")
        }
        await #expect(throws: (any Error).self) {
            try await harness.rawSQL("INSERT INTO tenants (id, ticket, tag, context_id, state, generation, execution, created_at, updated_at) SELECT 'twin', ticket, tag, context_id, state, generation, execution, created_at, updated_at FROM tenants WHERE id = 'acme'")
        }
        #expect(try await harness.status("acme").contextIdentifier?.hasPrefix("acmeprod-") == true)
    }

    /// The local KMS file is the operator's: with no file here, a file that never held the key (a key
    /// ARN from another directory's file), or a file others may read, the enrollment is the
    /// operator's to fix. No file is created, the tenant neither waits for the customer nor fails, and
    /// the step is retried as `KMS.Misconfigured` with a cause that names the file.
    @Test(arguments: ["no file here", "a file without the key", "a file open to others"])
    func aLocalKMSFileProblemIsTheOperatorsNotTheCustomers(problem: String) async throws {
        let harness = try await TenantHarness()
        defer { harness.remove() }
        let localPath = harness.configuration.localKMSPath
        let elsewhere = try LocalKMS(path: harness.directory + "/elsewhere/local-kms.json", createIfMissing: true)
        var key = try await elsewhere.createKey(description: "acme", policy: nil, alias: nil).arn
        switch problem {
        case "a file without the key":
            _ = try await harness.localKey("unrelated")
        case "a file open to others":
            key = try await harness.localKey("acme-root")
            #expect(chmod(localPath, 0o644) == 0)
        default:
            break
        }

        try await harness.service.enroll(try harness.request(ticket: "SUP-9", tenant: "acme", keys: [key], tag: "acmeprod"))
        let status = try await harness.drive("acme")
        #expect(status.state == "assigning-context", "\(status)")
        #expect(status.waitingFor == nil)
        #expect(status.generation == 0)
        #expect(status.executionStatus == "running")
        #expect(FileManager.default.fileExists(atPath: localPath) == (problem != "no file here"))
        let history = try await harness.overview.history(tenant: "acme")
        #expect(history.contains { $0.detail.contains("error KMS.Misconfigured") })
        #expect(!history.contains { $0.what.contains("awaiting-customer") || $0.what.contains("enrollment-failed") })
        let failure = try await harness.journal.history(of: status.execution).compactMap { $0.detail["cause"]?.stringValue }.joined(separator: "\n")
        #expect(failure.contains(localPath), "\(failure)")
        if problem == "a file open to others" { #expect(failure.contains("chmod 600 \(localPath)")) }
    }
}
