import CMKExampleHandlers
import CMKSQLite
import CMKTesting
import CMKWorkflow
import Foundation
import GRDB
import Testing

/// The SQLite journal and an in-process worker, driven by a manual clock: what is particular to SQLite (the
/// synchronous setting, commits counted by GRDB) and the example workflow. The journal contract every
/// backend keeps is in `JournalConformanceTests`.
@Suite("Journal and worker")
struct JournalWorkerTests {
    let clock = ManualClock()

    private func journal() throws -> SQLiteJournal {
        try SQLiteJournal(path: try TestPaths.temporaryDirectory("journal").appendingPathComponent("store.sqlite").path)
    }

    private func definition(_ json: String, handlers: Set<String>) throws -> StateMachineDefinition {
        try DefinitionLoader(handlerNames: handlers).load(data: Data(json.utf8), name: "wf", file: "wf.asl.json")
    }

    /// The test kit's example handlers, with notify-tenant's attempts recorded in `notifyCalls`.
    private func exampleHandlers(journal: SQLiteJournal, notifyCalls: CallLog) throws -> HandlerRegistry<SQLiteTransaction> {
        ExampleHandlers.registry(tables: try SQLiteExampleTables(journal: journal), recordEffect: notifyCalls.append)
    }

    @Test func runsTheExampleThroughRetryParkSignalAndTimer() async throws {
        let journal = try journal()
        let calls = CallLog()
        let handlers = try exampleHandlers(journal: journal, notifyCalls: calls)
        let example = try DefinitionLoader(handlerNames: handlers.names).load(file: TestPaths.exampleDefinition)
        let worker = WorkflowWorker(
            journal: journal, definitions: [example], handlers: handlers, clock: clock, random: { 0.5 })
        let input: JSONValue = ["tenant": "acme", "flaky": 1, "requireApproval": true, "cooldownSeconds": 2]
        try await worker.start(workflow: "example", name: "rot-1", input: input)

        #expect(try await worker.runUntilIdle())
        var execution = try #require(try await journal.execution(named: "rot-1"))
        #expect(execution.phase == .retrying)
        // FULL jitter with randomUnit 0.5 halves the 1 s interval.
        let due = try #require(execution.dueAt)
        #expect(abs(due.timeIntervalSince(clock.now()) - 0.5) < 0.000_1)
        #expect(try await !worker.runUntilIdle())

        clock.advance(by: 0.5)
        try await worker.runUntilIdle()
        execution = try #require(try await journal.execution(named: "rot-1"))
        #expect(execution.stateName == "AwaitApproval" && execution.phase == .parked)
        _ = try await journal.signal(execution: "rot-1", payload: ["by": "alice"], now: clock.now())
        try await worker.runUntilIdle()
        execution = try #require(try await journal.execution(named: "rot-1"))
        #expect(execution.stateName == "Cooldown" && execution.phase == .waiting)

        clock.advance(by: 2)
        try await worker.runUntilIdle()
        execution = try #require(try await journal.execution(named: "rot-1"))
        #expect(execution.status == .succeeded)
        #expect(execution.output == ["tenant": "acme", "rotation": 1, "notified": "rot-1/NotifyTenant/2", "approvedBy": "alice"])
        #expect(calls.all == ["rot-1/NotifyTenant/1", "rot-1/NotifyTenant/2"])

        let history = try await journal.history(of: "rot-1")
        #expect(history.map(\.seq) == Array(1...history.count))
        #expect(history.map(\.kind) == [
            .executionStarted, .stateEntered, .taskScheduled, .taskSucceeded, .stateEntered,
            .taskScheduled, .taskFailed, .retryScheduled, .taskScheduled, .taskSucceeded, .stateEntered,
            .stateEntered, .taskScheduled, .parked, .signalled, .taskSucceeded, .stateEntered, .timerSet,
            .timerFired, .stateEntered, .stateEntered, .executionSucceeded,
        ])
        let rotations = try await journal.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM example_rotations") }
        #expect(rotations == 1)
    }

    @Test(arguments: JournalDurability.allCases)
    func theWriterCommitsWithTheRequestedSynchronousSetting(durability: JournalDurability) throws {
        // GRDB turns its writer to NORMAL when it enables WAL; the journal must set the requested value back.
        let path = try TestPaths.temporaryDirectory("durability").appendingPathComponent("store.sqlite").path
        let journal = try SQLiteJournal(path: path, durability: durability)
        let synchronous = try journal.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == (durability == .full ? 2 : 1))
    }

    @Test func aChainCommitsOnceForTheClaimAndOncePerTask() async throws {
        let journal = try journal()
        var handlers = HandlerRegistry<SQLiteTransaction>()
        handlers.register("step", .detached { .succeeded($0.input) })
        let definition = try definition(
            #"""
            {"StartAt":"P1","States":{
              "P1":{"Type":"Pass","Result":1,"ResultPath":"$.p1","Next":"T1"},
              "T1":{"Type":"Task","Resource":"arn:aws:states:::activity:step","Next":"P2"},
              "P2":{"Type":"Pass","Result":2,"ResultPath":"$.p2","Next":"T2"},
              "T2":{"Type":"Task","Resource":"arn:aws:states:::activity:step","Next":"P3"},
              "P3":{"Type":"Pass","Result":3,"ResultPath":"$.p3","Next":"T3"},
              "T3":{"Type":"Task","Resource":"arn:aws:states:::activity:step","End":true}}}
            """#, handlers: handlers.names)
        let worker = WorkflowWorker(journal: journal, definitions: [definition], handlers: handlers, clock: clock)
        try await worker.start(workflow: "wf", name: "chain", input: [:])
        let counter = CommitCounter()
        journal.pool.add(transactionObserver: counter)
        try await worker.runUntilIdle()

        let execution = try #require(try await journal.execution(named: "chain"))
        #expect(execution.status == .succeeded)
        #expect(execution.output == ["p1": 1, "p2": 2, "p3": 3])
        // The claim commits P1 and the entry into T1; each task's result commits with the next Pass and the
        // entry into the next task, which runs only after that commit.
        #expect(counter.commits == 4)
        let history = try await journal.history(of: "chain")
        #expect(history.map(\.seq) == Array(1...history.count))
        #expect(history.map(\.kind) == [
            .executionStarted, .stateEntered, .stateEntered, .taskScheduled, .taskSucceeded, .stateEntered,
            .stateEntered, .taskScheduled, .taskSucceeded, .stateEntered, .stateEntered, .taskScheduled,
            .taskSucceeded, .executionSucceeded,
        ])
        #expect(history.compactMap { $0.kind == .stateEntered ? $0.state : nil } == ["P1", "T1", "P2", "T2", "P3", "T3"])
    }

    @Test func aFailingTransactionalHandlerLeavesNoWritesBehind() async throws {
        let journal = try journal()
        var handlers = HandlerRegistry<SQLiteTransaction>()
        handlers.register("write", .transactional { context, transaction in
            let key = context.idempotencyKey
            try await transaction.execute { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS effects (key TEXT)")
                try db.execute(sql: "INSERT INTO effects (key) VALUES (?)", arguments: [key])
            }
            if context.attempt == 1 { throw TaskFailure(error: "Once") }
            return .succeeded(nil)
        })
        let definition = try definition(
            #"{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::activity:write","Retry":[{"ErrorEquals":["Once"],"IntervalSeconds":1}],"End":true}}}"#,
            handlers: handlers.names)
        let worker = WorkflowWorker(journal: journal, definitions: [definition], handlers: handlers, clock: clock)
        try await worker.start(workflow: "wf", name: "tx", input: [:])
        try await worker.runUntilIdle()
        clock.advance(by: 1)
        try await worker.runUntilIdle()
        #expect(try await journal.execution(named: "tx")?.status == .succeeded)
        let keys = try await journal.pool.read { try String.fetchAll($0, sql: "SELECT key FROM effects") }
        #expect(keys == ["tx/W/2"])
    }
}
