import CMKSQLite
import CMKWorkflow
import Foundation
import GRDB
import Testing

/// Worker processes killed with SIGKILL at random instants, and two workers sharing one journal.
@Suite("Crash recovery and shared journals", .serialized)
struct CrashRecoveryTests {
    struct Expected {
        let tenant: String
        let flaky: Int
        let approval: Bool
        var succeeds: Bool { flaky <= 3 }
    }

    private func workflowsDirectory(in directory: URL, extra: [String: String] = [:]) throws -> URL {
        let workflows = directory.appendingPathComponent("workflows")
        try FileManager.default.createDirectory(at: workflows, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.exampleDefinition, to: workflows.appendingPathComponent("example.asl.json"))
        for (name, text) in extra {
            try text.write(to: workflows.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return workflows
    }

    /// Parked approvals get their signal from "outside", as `cmkctl signal` would send it.
    private func signalParked(_ journal: SQLiteJournal) async throws {
        for execution in try await journal.executions(status: .running) where execution.phase == .parked && execution.signal == nil {
            do {
                _ = try await journal.signal(execution: execution.name, payload: ["by": "test"], now: Date())
            } catch let error as WorkflowError where error.code == .executionConflict {
                continue
            }
        }
    }

    private func waitUntilFinished(_ journal: SQLiteJournal, seconds: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            try await signalParked(journal)
            if try await journal.executions(status: .running).isEmpty { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func everyExecutionFinishesCorrectlyAfterDozensOfKills() async throws {
        let directory = try TestPaths.temporaryDirectory("crash")
        let workflows = try workflowsDirectory(in: directory)
        let store = directory.appendingPathComponent("store.sqlite")
        let effects = directory.appendingPathComponent("effects.log")
        let journal = try SQLiteJournal(path: store.path)
        let example = try DefinitionLoader(handlerNames: ExampleHandlerNames.all).load(file: TestPaths.exampleDefinition)

        var expected: [String: Expected] = [:]
        for index in 0..<12 {
            let item = Expected(tenant: "tenant-\(index)", flaky: index % 6, approval: index % 2 == 0)
            let input: JSONValue = [
                "tenant": .string(item.tenant), "flaky": .number(Double(item.flaky)),
                "requireApproval": .bool(item.approval), "cooldownSeconds": .number(0.2 + Double(index % 3) * 0.2),
            ]
            _ = try await journal.start(name: "crash-\(index)", input: input, definition: example, now: Date())
            expected["crash-\(index)"] = item
        }

        let kills = 30
        for _ in 0..<kills {
            let worker = try WorkerProcess(
                store: store, workflows: workflows, owner: "crash-worker", leaseSeconds: 2, effectsLog: effects)
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...600)))
            worker.kill()
            try await signalParked(journal)
        }
        let survivor = try WorkerProcess(
            store: store, workflows: workflows, owner: "crash-worker", leaseSeconds: 2, effectsLog: effects)
        let finished = try await waitUntilFinished(journal, seconds: 90)
        survivor.kill()
        #expect(finished, "executions still running after the last restart")

        let rotations = try await journal.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT execution, id FROM example_rotations").map { ($0["execution"] as String, $0["id"] as Int64) }
        }
        let effectLines = try String(contentsOf: effects, encoding: .utf8).split(separator: "\n").map(String.init)
        var scheduledKeys: Set<String> = []

        for (name, item) in expected.sorted(by: { $0.key < $1.key }) {
            let execution = try #require(try await journal.execution(named: name))
            let history = try await journal.history(of: name)
            let rotationIDs = rotations.filter { $0.0 == name }.map(\.1)
            // In-database effect: exactly once, whatever the kills interrupted.
            #expect(rotationIDs.count == 1, "\(name): \(rotationIDs.count) rotation rows")

            // History: numbered without gaps, one start, one terminal event, last.
            #expect(history.map(\.seq) == Array(1...history.count), "\(name): gap in history")
            #expect(history.first?.kind == .executionStarted)
            let terminal: Set<EventKind> = [.executionSucceeded, .executionFailed, .executionTimedOut, .executionCancelled]
            #expect(history.filter { terminal.contains($0.kind) }.count == 1)
            #expect(history.last.map { terminal.contains($0.kind) } == true)

            // Each notify attempt is scheduled once in history, attempts 1...n in order.
            let notify = history.filter { $0.kind == .taskScheduled && $0.state == "NotifyTenant" }
            let attempts = min(item.flaky + 1, 4)
            #expect(notify.compactMap(\.attempt) == Array(1...attempts), "\(name): notify attempts")
            let keys = notify.compactMap { $0.detail["idempotencyKey"]?.stringValue }
            #expect(keys == (1...attempts).map { "\(name)/NotifyTenant/\($0)" })
            scheduledKeys.formUnion(keys)
            // At-least-once effect: every recorded attempt happened, repeats carry the same key.
            for key in keys {
                #expect(effectLines.contains(key), "\(key) missing from effects log")
            }

            let entered = history.filter { $0.kind == .stateEntered }.compactMap(\.state)
            if item.succeeds {
                #expect(execution.status == .succeeded, "\(name): \(execution.status) \(execution.error ?? "")")
                #expect(entered == [
                    "RecordRotation", "NotifyTenant", "NeedsApproval", item.approval ? "AwaitApproval" : "NoApprovalNeeded",
                    "Cooldown", "Summarize", "Done",
                ])
                #expect(execution.output == [
                    "tenant": .string(item.tenant), "rotation": .number(Double(rotationIDs.first ?? -1)),
                    "notified": .string("\(name)/NotifyTenant/\(item.flaky + 1)"),
                    "approvedBy": item.approval ? "test" : "policy",
                ])
                #expect(history.filter { $0.kind == .timerSet }.count == 1)
                #expect(history.filter { $0.kind == .timerFired }.count == 1)
            } else {
                #expect(execution.status == .failed)
                #expect(execution.error == "NotifyFailed")
                #expect(entered == ["RecordRotation", "NotifyTenant", "NotifyFailed"])
                #expect(history.contains { $0.kind == .caught })
            }
        }
        // Nothing ran under a key the journal does not know.
        #expect(Set(effectLines).isSubset(of: scheduledKeys))
        #expect(effectLines.count >= scheduledKeys.count)
    }

    @Test func twoWorkersNeverRunAStateTwiceAtOnceAndHandOverAfterLeaseExpiry() async throws {
        let directory = try TestPaths.temporaryDirectory("two-workers")
        let relay = #"""
            {"StartAt":"A","States":{
              "A":{"Type":"Task","Resource":"arn:aws:states:::activity:exclusive-step","Next":"B"},
              "B":{"Type":"Task","Resource":"arn:aws:states:::activity:exclusive-step","Next":"C"},
              "C":{"Type":"Task","Resource":"arn:aws:states:::activity:exclusive-step","End":true}}}
            """#
        let workflows = try workflowsDirectory(in: directory, extra: ["relay.asl.json": relay])
        let store = directory.appendingPathComponent("store.sqlite")
        let journal = try SQLiteJournal(path: store.path)
        let definition = try DefinitionLoader(handlerNames: ExampleHandlerNames.all).load(
            data: Data(relay.utf8), name: "relay", file: "relay.asl.json")
        for index in 0..<6 {
            _ = try await journal.start(name: "relay-\(index)", input: ["sleepSeconds": 0.25], definition: definition, now: Date())
        }
        let leaseSeconds = 1.0
        let first = try WorkerProcess(store: store, workflows: workflows, owner: "w1", leaseSeconds: leaseSeconds, effectsLog: nil)
        let second = try WorkerProcess(store: store, workflows: workflows, owner: "w2", leaseSeconds: leaseSeconds, effectsLog: nil)
        try await Task.sleep(for: .milliseconds(1500))
        let killedAt = Date().timeIntervalSince1970
        first.kill()
        let finished = try await waitUntilFinished(journal, seconds: 60)
        second.kill()
        #expect(finished)
        #expect(try await journal.executions(status: .succeeded).count == 6)

        struct Run { let key: String; let pid: Int; let started: Double; let ended: Double? }
        let runs = try await journal.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key, pid, started, ended FROM example_runs ORDER BY started").map {
                Run(key: $0["key"], pid: $0["pid"], started: $0["started"], ended: $0["ended"])
            }
        }
        #expect(Set(runs.map(\.pid)) == [Int(first.pid), Int(second.pid)], "both workers did work")
        // No two runs of one execution overlap in time: one state at a time, never twice at once.
        let byExecution = Dictionary(grouping: runs) { $0.key.split(separator: "/").first.map(String.init) ?? "" }
        for (execution, executionRuns) in byExecution {
            for (index, run) in executionRuns.enumerated() {
                for other in executionRuns[(index + 1)...] {
                    let runEnd = run.ended ?? killedAt
                    let otherEnd = other.ended ?? killedAt
                    #expect(runEnd <= other.started || otherEnd <= run.started, "\(execution): \(run.key) overlaps \(other.key)")
                }
            }
        }
        // The killed worker was mid-task; the survivor re-ran that attempt only after the lease ran out.
        let interrupted = runs.filter { $0.ended == nil }
        #expect(!interrupted.isEmpty, "the first worker was not killed mid-task")
        for run in interrupted {
            let rerun = runs.first { $0.key == run.key && $0.pid == Int(second.pid) && $0.ended != nil }
            #expect(rerun != nil, "\(run.key) was not handed over")
            if let rerun {
                #expect(rerun.started >= killedAt + leaseSeconds / 2, "\(run.key) re-ran before the lease expired")
            }
        }
    }
}
