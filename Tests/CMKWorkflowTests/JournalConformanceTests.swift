import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation
import PostgresNIO
import Synchronization
import Testing

/// The journal's contract, run against every backend: what the engine relies on, whichever store is
/// under it. Each test opens a fresh store (a SQLite file, or a new PostgreSQL database).
@Suite("Journal conformance")
struct JournalConformanceTests {
    static func open(_ backend: TestBackend) async throws -> FreshStore {
        try await backend.openFresh(
            directory: try TestPaths.temporaryDirectory("conformance").path, packageRoot: TestPaths.repositoryRoot.path)
    }

    static func definition(_ json: String, handlers: Set<String> = []) throws -> StateMachineDefinition {
        try DefinitionLoader(handlerNames: handlers).load(data: Data(json.utf8), name: "wf", file: "wf.asl.json")
    }

    static func record(_ id: String) -> TenantRecord {
        TenantRecord(id: id, ticket: "SUP-1", tag: "acme", contextIdentifier: nil, state: .registered, generation: 0,
                     waitingFor: nil, execution: "", createdAt: Date(), updatedAt: Date())
    }

    // MARK: Start by name

    @Test(arguments: TestBackend.allCases)
    func startingAnExistingNameReturnsTheExistingExecution(backend: TestBackend) async throws {
        let fresh = try await Self.open(backend)
        defer { Task { await fresh.store.close() } }
        let journal = fresh.store.journal
        let definition = try Self.definition(#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#)
        let now = Date()
        let first = try await journal.start(name: "same", input: ["v": 1], definition: definition, now: now)
        let second = try await journal.start(name: "same", input: ["v": 2], definition: definition, now: now)
        #expect(first.created && !second.created)
        #expect(second.snapshot.input == ["v": 1])
        #expect(try await journal.history(of: "same").count == 2)
        // Many starters of one name at once: exactly one creates it.
        let created = try await withThrowingTaskGroup(of: Bool.self) { group in
            for value in 0..<8 {
                group.addTask { try await journal.start(name: "raced", input: ["v": .number(Double(value))], definition: definition, now: now).created }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(created == 1)
        #expect(try await journal.history(of: "raced").count == 2)
        #expect(try await journal.execution(named: "nobody") == nil)
    }

    // MARK: Steps, timers, retries, signals

    @Test(arguments: TestBackend.allCases)
    func aWorkflowRunsThroughRetryParkSignalAndTimer(backend: TestBackend) async throws {
        let fresh = try await Self.open(backend)
        defer { Task { await fresh.store.close() } }
        try await Self.retryParkSignalTimer(fresh.store)
    }

    static func retryParkSignalTimer<Store: StoreBackend>(_ store: Store) async throws {
        let journal = store.journal
        let clock = ManualClock()
        let calls = CallLog()
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        handlers.register("flaky", .detached { context in
            calls.append(context.idempotencyKey)
            if context.attempt == 1 { throw TaskFailure(error: "Flaky.Once") }
            return .succeeded(["attempt": .number(Double(context.attempt))])
        })
        handlers.register("approve", .detached { _ in .parked })
        let definition = try Self.definition(
            #"""
            {"StartAt":"Call","States":{
              "Call":{"Type":"Task","Resource":"arn:aws:states:::activity:flaky","ResultPath":"$.call",
                      "Retry":[{"ErrorEquals":["Flaky.Once"],"IntervalSeconds":2,"MaxAttempts":3}],"Next":"Approve"},
              "Approve":{"Type":"Task","Resource":"arn:aws:states:::activity:approve","ResultPath":"$.approval","Next":"Cool"},
              "Cool":{"Type":"Wait","Seconds":30,"Next":"Done"},
              "Done":{"Type":"Succeed"}}}
            """#, handlers: handlers.names)
        let worker = WorkflowWorker(journal: journal, definitions: [definition], handlers: handlers, clock: clock, random: { 0.5 })
        try await worker.start(workflow: "wf", name: "run", input: ["tenant": "acme"])

        try await worker.runUntilIdle()
        var execution = try #require(try await journal.execution(named: "run"))
        #expect(execution.phase == .retrying)
        #expect(try await !worker.runUntilIdle())
        clock.advance(by: 2)
        try await worker.runUntilIdle()
        execution = try #require(try await journal.execution(named: "run"))
        #expect(execution.stateName == "Approve" && execution.phase == .parked)
        _ = try await journal.signal(execution: "run", payload: ["by": "alice"], now: clock.now())
        try await worker.runUntilIdle()
        execution = try #require(try await journal.execution(named: "run"))
        #expect(execution.stateName == "Cool" && execution.phase == .waiting)
        #expect(try await journal.nextWake(now: clock.now()) == clock.now().addingTimeInterval(30))
        clock.advance(by: 29)
        #expect(try await !worker.runUntilIdle())
        clock.advance(by: 1)
        try await worker.runUntilIdle()
        execution = try #require(try await journal.execution(named: "run"))
        #expect(execution.status == .succeeded)
        #expect(execution.output == ["tenant": "acme", "call": ["attempt": 2], "approval": ["by": "alice"]])
        #expect(calls.all == ["run/Call/1", "run/Call/2"])
        let history = try await journal.history(of: "run")
        #expect(history.map(\.seq) == Array(1...history.count))
        #expect(history.filter { $0.kind == .taskFailed }.count == 1)
        #expect(history.filter { $0.kind == .timerFired }.count == 1)
        #expect(history.last?.kind == .executionSucceeded)
        #expect(try await journal.executions(status: .succeeded).map(\.name) == ["run"])
        #expect(try await journal.nextWake(now: clock.now()) == nil)
    }

    @Test(arguments: TestBackend.allCases)
    func signalAndCancelRefuseExecutionsInTheWrongState(backend: TestBackend) async throws {
        let fresh = try await Self.open(backend)
        defer { Task { await fresh.store.close() } }
        try await Self.signalAndCancel(fresh.store)
    }

    static func signalAndCancel<Store: StoreBackend>(_ store: Store) async throws {
        let journal = store.journal
        let clock = ManualClock()
        let definition = try Self.definition(#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#)
        let worker = WorkflowWorker(
            journal: journal, definitions: [definition], handlers: HandlerRegistry<Store.Journal.Transaction>(), clock: clock)
        try await worker.start(workflow: "wf", name: "w", input: [:])
        try await worker.runUntilIdle()
        await #expect { try await journal.signal(execution: "w", payload: [:], now: clock.now()) } throws: {
            ($0 as? WorkflowError)?.code == .executionConflict
        }
        await #expect { try await journal.signal(execution: "nope", payload: [:], now: clock.now()) } throws: {
            ($0 as? WorkflowError)?.code == .executionNotFound
        }
        #expect(try await journal.cancel(execution: "w", now: clock.now()).status == .cancelled)
        await #expect { try await journal.cancel(execution: "w", now: clock.now()) } throws: {
            ($0 as? WorkflowError)?.code == .executionConflict
        }
        clock.advance(by: 120)
        #expect(try await !worker.runUntilIdle())
        #expect(try await journal.history(of: "w").last?.kind == .executionCancelled)
        #expect(try await journal.executions(status: .cancelled).map(\.name) == ["w"])
    }

    @Test(arguments: [("HeartbeatSeconds", StatesError.heartbeatTimeout), ("TimeoutSeconds", StatesError.timeout)], TestBackend.allCases)
    func silentOrSlowHandlersTimeOut(limit: (field: String, error: String), backend: TestBackend) async throws {
        let fresh = try await Self.open(backend)
        defer { Task { await fresh.store.close() } }
        try await Self.timesOut(fresh.store, field: limit.field, expectedError: limit.error)
    }

    static func timesOut<Store: StoreBackend>(_ store: Store, field: String, expectedError: String) async throws {
        let clock = ManualClock()
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        handlers.register("slow", .detached { context in
            // Time passes while the handler is busy; with heartbeats, only TimeoutSeconds can fire.
            if field == "TimeoutSeconds" { context.heartbeat() }
            clock.advance(by: 6)
            if field == "TimeoutSeconds" { context.heartbeat() }
            try await Task.sleep(for: .seconds(60))
            return .succeeded(nil)
        })
        let limits = field == "TimeoutSeconds" ? #""TimeoutSeconds":5"# : #""HeartbeatSeconds":2"#
        let definition = try Self.definition(
            #"{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::activity:slow",\#(limits),"End":true}}}"#,
            handlers: handlers.names)
        let worker = WorkflowWorker(journal: store.journal, definitions: [definition], handlers: handlers, clock: clock)
        try await worker.start(workflow: "wf", name: "slow", input: [:])
        try await worker.runUntilIdle()
        let execution = try #require(try await store.journal.execution(named: "slow"))
        #expect(execution.status == .failed)
        #expect(execution.error == expectedError)
    }

    // MARK: Leases and hand-over

    @Test(arguments: TestBackend.allCases)
    func leasesFenceOutAStaleWorkerAndPassOnAfterExpiry(backend: TestBackend) async throws {
        let fresh = try await Self.open(backend)
        defer { Task { await fresh.store.close() } }
        let journal = fresh.store.journal
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let definition = try Self.definition(#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#)
        _ = try await journal.start(name: "e", input: [:], definition: definition, now: now)
        let held = try #require(try await journal.claim(owner: "a", leaseSeconds: 10, now: now))
        #expect(try await journal.lease(of: "e")?.owner == "a")
        #expect(try await journal.claim(owner: "b", leaseSeconds: 10, now: now.addingTimeInterval(9)) == nil)
        #expect(try await journal.nextWake(now: now) == now.addingTimeInterval(10))
        #expect(try await journal.renewLease(execution: "e", owner: "a", leaseSeconds: 10, now: now.addingTimeInterval(5)))
        #expect(try await journal.claim(owner: "b", leaseSeconds: 10, now: now.addingTimeInterval(12)) == nil)
        let taken = try await journal.claim(owner: "b", leaseSeconds: 10, now: now.addingTimeInterval(15))
        #expect(taken?.name == "e")
        #expect(try await journal.lease(of: "e")?.owner == "b")
        guard case .commit(let planned) = ExecutionStepper(definition: definition).decide(held, now: now, randomUnit: 0) else {
            Issue.record("expected a commit")
            return
        }
        await #expect {
            try await journal.commit(planned, execution: "e", owner: "a", expectedSeq: held.nextSeq, leaseSeconds: 10, now: now)
        } throws: { ($0 as? WorkflowError)?.code == .leaseLost }
        #expect(!(try await journal.renewLease(execution: "e", owner: "a", leaseSeconds: 10, now: now)))
        try await journal.releaseLease(execution: "e", owner: "a")
        #expect(try await journal.lease(of: "e")?.owner == "b")
        _ = try await journal.commit(planned, execution: "e", owner: "b", expectedSeq: held.nextSeq, leaseSeconds: 10, now: now)
        #expect(try await journal.execution(named: "e")?.status == .succeeded)
        #expect(try await journal.lease(of: "e") == nil)
        // A replayed commit of the same step finds the sequence moved on.
        await #expect {
            try await journal.commit(planned, execution: "e", owner: "b", expectedSeq: held.nextSeq, leaseSeconds: 10, now: now)
        } throws: { ($0 as? WorkflowError)?.code == .leaseLost }
    }

    // MARK: Exactly-once transactional steps

    @Test(arguments: TestBackend.allCases)
    func concurrentWorkersRunEachTransactionalStepExactlyOnce(backend: TestBackend) async throws {
        let fresh = try await Self.open(backend)
        defer { Task { await fresh.store.close() } }
        try await Self.exactlyOnce(fresh.store)
    }

    /// Four workers in one process race for 24 executions of three transactional steps each; every step
    /// writes a tenant row in its transaction, and a step whose lease or sequence went stale rolls back.
    static func exactlyOnce<Store: StoreBackend>(_ store: Store) async throws {
        let repository = store.repository
        let runs = Mutex(0)
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        handlers.register("write", .transactional { context, transaction in
            runs.withLock { $0 += 1 }
            let id = context.idempotencyKey.replacingOccurrences(of: "/", with: "-")
            try await repository.insertTenant(Self.record(id), in: transaction)
            return .succeeded(context.input)
        })
        let definition = try Self.definition(
            #"""
            {"StartAt":"W1","States":{
              "W1":{"Type":"Task","Resource":"arn:aws:states:::activity:write","Next":"W2"},
              "W2":{"Type":"Task","Resource":"arn:aws:states:::activity:write","Next":"W3"},
              "W3":{"Type":"Task","Resource":"arn:aws:states:::activity:write","End":true}}}
            """#, handlers: handlers.names)
        let workers = (0..<4).map { index in
            WorkflowWorker(journal: store.journal, definitions: [definition], handlers: handlers, owner: "w\(index)", leaseSeconds: 30)
        }
        for index in 0..<24 {
            try await workers[0].start(workflow: "wf", name: "e\(index)", input: [:])
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.runUntilIdle() } }
            try await group.waitForAll()
        }
        for index in 0..<24 {
            #expect(try await store.journal.execution(named: "e\(index)")?.status == .succeeded)
            let history = try await store.journal.history(of: "e\(index)")
            #expect(history.map(\.seq) == Array(1...history.count))
            #expect(history.filter { $0.kind == .taskSucceeded }.count == 3)
        }
        let tenants = try await repository.tenants()
        #expect(tenants.count == 72)
        #expect(Set(tenants.map(\.id)).count == 72)
        // A handler may have run and rolled back (a stale step), but no write outlived it.
        #expect(runs.withLock { $0 } >= 72)
    }

    // MARK: Migrations

    @Test(arguments: TestBackend.allCases)
    func storesOpenedTogetherOnAnEmptyDatabaseMigrateOnce(backend: TestBackend) async throws {
        let directory = try TestPaths.temporaryDirectory("migrate").path
        let location: String
        switch backend {
        case .sqlite: location = directory + "/store.sqlite"
        case .postgres: location = try PostgresServer.shared(packageRoot: TestPaths.repositoryRoot.path).freshDatabase("migrate")
        }
        // Six processes' worth of opens at once on one empty database: all succeed, and the tables are usable.
        let stores = try await withThrowingTaskGroup(of: (any StoreBackend).self) { group in
            for _ in 0..<6 {
                group.addTask { try await Self.openExisting(location) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 6)
        let definition = try Self.definition(#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#)
        _ = try await stores[0].journal.start(name: "after-migration", input: [:], definition: definition, now: Date())
        #expect(try await stores[5].journal.execution(named: "after-migration") != nil)
        #expect(try await stores[3].repository.tenants().isEmpty)
        for store in stores { await store.close() }
        // Opening again applies nothing new and keeps the data.
        let again = try await Self.openExisting(location)
        #expect(try await again.journal.execution(named: "after-migration") != nil)
        await again.close()
    }

    static func openExisting(_ location: String) async throws -> any StoreBackend {
        if PostgresLocation.isPostgresURL(location) {
            return try await PostgresStore.open(try PostgresLocation(url: location), maximumConnections: 2)
        }
        return try SQLiteStore(path: location)
    }

    // MARK: Wake-up hints

    /// An idle worker that polls only once a minute still picks up new work at once on PostgreSQL, where
    /// `start` sends NOTIFY; on SQLite (no hints) the same worker finds it at its next poll.
    @Test func anIdleWorkerOnPostgreSQLWakesOnNotify() async throws {
        let fresh = try await Self.open(.postgres)
        defer { Task { await fresh.store.close() } }
        try await Self.wakesOnNotify(fresh.store)
    }

    static func wakesOnNotify<Store: StoreBackend>(_ store: Store) async throws {
        let definition = try Self.definition(#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#)
        let worker = WorkflowWorker(
            journal: store.journal, definitions: [definition], handlers: HandlerRegistry<Store.Journal.Transaction>(),
            idleCheckSeconds: 60)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        // Let the worker find nothing and go to sleep, and its LISTEN connection start: a NOTIFY sent before
        // that would be lost (polling, once a minute here, would catch it), which is not what this tests.
        if let postgres = store as? PostgresStore {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let rows = try await postgres.autocommit(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%cmkctl_work%'")
                if let row = rows.first, try row.decode(Int.self) > 0 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        _ = try await store.journal.start(name: "woken", input: [:], definition: definition, now: Date())
        while try await store.journal.execution(named: "woken")?.status != .succeeded {
            #expect(ContinuousClock.now - started < .seconds(45), "the worker slept through the notification")
            if ContinuousClock.now - started >= .seconds(45) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
