import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// The store seam on SQLite: the journal and the tenant repository share one transaction, so a
/// transactional step's tenant writes commit with the step or not at all; the enrollment claim records
/// its own outcome.
@Suite struct StoreSeamTests {
    static let pass = #"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#

    static func record(_ id: String) -> TenantRecord {
        TenantRecord(id: id, ticket: "SUP-1", tag: "acme", contextIdentifier: nil, state: .registered, generation: 0,
                     waitingFor: nil, execution: "", createdAt: Date(), updatedAt: Date())
    }

    @Test(arguments: TestBackend.allCases)
    func aRepositoryWriteInTheStepsTransactionCommitsOnlyWithTheStep(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await Self.repositoryWriteCommitsOnlyWithTheStep(harness.fresh.store)
    }

    static func repositoryWriteCommitsOnlyWithTheStep(_ backend: some StoreBackend) async throws {
        let journal = backend.journal, store = backend.repository
        let definition = try DefinitionLoader(handlerNames: []).load(data: Data(Self.pass.utf8), name: "wf", file: "wf.asl.json")
        _ = try await journal.start(name: "e", input: [:], definition: definition, now: Date())
        let held = try #require(try await journal.claim(owner: "a", leaseSeconds: 60, now: Date()))
        guard case .commit(let planned) = ExecutionStepper(definition: definition).decide(held, now: Date(), randomUnit: 0) else {
            Issue.record("expected a commit")
            return
        }
        // A worker that lost its lease: the fence refuses the step, and the tenant written in its transaction goes too.
        await #expect {
            try await journal.commit(execution: "e", owner: "b", expectedSeq: held.nextSeq, leaseSeconds: 60, now: Date()) { transaction in
                try await store.insertTenant(Self.record("stale"), in: transaction)
                return planned
            }
        } throws: { ($0 as? WorkflowError)?.code == .leaseLost }
        #expect(try await store.tenant("stale") == nil)

        _ = try await journal.commit(execution: "e", owner: "a", expectedSeq: held.nextSeq, leaseSeconds: 60, now: Date()) { transaction in
            try await store.insertTenant(Self.record("fresh"), in: transaction)
            return planned
        }
        #expect(try await store.tenant("fresh")?.ticket == "SUP-1")
        #expect(try await journal.execution(named: "e")?.status == .succeeded)
    }

    @Test(arguments: TestBackend.allCases)
    func aFailingTransactionalHandlerLeavesNoTenantWritesButItsFailureCommits(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await Self.failingHandlerLeavesNoWrites(harness.fresh.store)
    }

    static func failingHandlerLeavesNoWrites<Store: StoreBackend>(_ backend: Store) async throws {
        let store = backend.repository
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        handlers.register("write-then-fail", .transactional { context, transaction in
            try await store.insertTenant(Self.record("attempt-\(context.attempt)"), in: transaction)
            if context.attempt == 1 { throw TaskFailure(error: "Once") }
            return .succeeded(nil)
        })
        let definition = try DefinitionLoader(handlerNames: handlers.names).load(
            data: Data(#"{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::activity:write-then-fail","Retry":[{"ErrorEquals":["Once"],"IntervalSeconds":1}],"End":true}}}"#.utf8),
            name: "wf", file: "wf.asl.json")
        let clock = ManualClock()
        let worker = WorkflowWorker(journal: backend.journal, definitions: [definition], handlers: handlers, clock: clock)
        try await worker.start(workflow: "wf", name: "w", input: [:])
        try await worker.runUntilIdle()
        clock.advance(by: 1)
        try await worker.runUntilIdle()
        #expect(try await backend.journal.execution(named: "w")?.status == .succeeded)
        #expect(try await store.tenants().map(\.id) == ["attempt-2"])
        #expect(try await backend.journal.history(of: "w").contains { $0.kind == .taskFailed })
    }

    @Test(arguments: TestBackend.allCases)
    func aTransactionalHandlerCannotOpenATransactionOfItsOwn(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await Self.nestedWriteRefused(harness.fresh.store)
    }

    /// On SQLite the nested write would wait forever for the writer the step holds; on PostgreSQL it would
    /// commit apart from the step. Either way it is refused, and the step fails with that reason.
    static func nestedWriteRefused<Store: StoreBackend>(_ backend: Store) async throws {
        let store = backend.repository
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        handlers.register("nested", .transactional { _, _ in
            try await store.write { transaction in try await store.insertTenant(Self.record("nested"), in: transaction) }
            return .succeeded(nil)
        })
        let definition = try DefinitionLoader(handlerNames: handlers.names).load(
            data: Data(#"{"StartAt":"N","States":{"N":{"Type":"Task","Resource":"arn:aws:states:::activity:nested","End":true}}}"#.utf8),
            name: "wf", file: "wf.asl.json")
        let worker = WorkflowWorker(journal: backend.journal, definitions: [definition], handlers: handlers)
        try await worker.start(workflow: "wf", name: "n", input: [:])
        try await worker.runUntilIdle()
        let execution = try #require(try await backend.journal.execution(named: "n"))
        #expect(execution.status == .failed)
        #expect(execution.cause?.contains("opened a write transaction of its own") == true, "\(execution.cause ?? "-")")
        #expect(try await store.tenant("nested") == nil)
    }

    @Test(arguments: TestBackend.allCases)
    func aTransactionRefusesStatementsAfterItEnded(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        try await Self.transactionEnds(harness.fresh.store)
    }

    static func transactionEnds(_ backend: some StoreBackend) async throws {
        let store = backend.repository
        let escaped = try await store.write { transaction in transaction }
        await #expect(throws: (any Error).self) { try await store.tenant("anyone", in: escaped) }
        // The store is free again: a thrown body rolled back, the next transaction commits.
        await #expect(throws: TenantError.self) {
            try await store.write { transaction in
                try await store.insertTenant(Self.record("rolled-back"), in: transaction)
                throw TenantError(.conflict, "abort")
            }
        }
        try await store.write { transaction in try await store.insertTenant(Self.record("kept"), in: transaction) }
        #expect(try await store.tenants().map(\.id) == ["kept"])
    }

    @Test(arguments: TestBackend.allCases)
    func aFailedEnrollmentRecordsItsOutcomeAndANewTicketMayTryAgain(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend, aws: { throw TenantError(.configuration, "no AWS KMS in this test") })
        defer { harness.remove() }
        let store = harness.store
        let awsKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        let first = try await harness.service.enroll(try harness.request(ticket: "SUP-1", tenant: "acme", keys: [awsKey], tag: "acme"))
        #expect(try await harness.drive("acme").state == "enrollment-failed")
        let failed = try await Self.claim(of: "acme", in: harness.fresh.store.repository)
        #expect(failed?.execution == first.execution && failed?.outcome == .failed)

        let key = try await harness.localKey("acme-root")
        let second = try await harness.service.enroll(try harness.request(ticket: "SUP-2", tenant: "acme", keys: [key], tag: "acme"))
        #expect(second.created)
        #expect(try await harness.drive("acme").state == "active")
        let succeeded = try await Self.claim(of: "acme", in: harness.fresh.store.repository)
        #expect(succeeded?.execution == second.execution && succeeded?.outcome == .succeeded)
    }

    @Test(arguments: TestBackend.allCases)
    func aCancelledEnrollmentFreesTheTenantThroughItsExecution(backend: TestBackend) async throws {
        let harness = try await TenantHarness(backend)
        defer { harness.remove() }
        let key = try await harness.localKey("globex-root")
        try await harness.localKMS.disableKey(keyID: key)
        let first = try await harness.service.enroll(try harness.request(ticket: "SUP-1", tenant: "globex", keys: [key], tag: "globex"))
        #expect(try await harness.drive("globex").state == "awaiting-customer")
        let other = try harness.request(ticket: "SUP-2", tenant: "globex", keys: [key], tag: "globex")
        await #expect(throws: TenantError.self) { try await harness.service.enroll(other) }

        // Cancelled before its last step: the claim has no outcome, the journal's snapshot says it ended.
        _ = try await harness.journal.cancel(execution: first.execution, now: Date())
        #expect(try await harness.service.enroll(other).created)
    }

    static func claim(of tenant: String, in store: some TenantRepository) async throws -> EnrollmentClaim? {
        try await store.read { transaction in try await store.enrollmentClaim(tenant: tenant, in: transaction) }
    }
}
