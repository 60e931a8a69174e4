import CMKExampleHandlers
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// Worker processes (`cmkctl-testworker`) killed with SIGKILL at random instants, and two workers sharing
/// one store: on a SQLite file and on a PostgreSQL database.
@Suite("Crash recovery and shared stores", .serialized)
struct CrashRecoveryTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite
        case postgres

        var testDescription: String { rawValue }

        /// A fresh store's `--store` value: a SQLite file in `directory`, or a new database on the suite's
        /// PostgreSQL server.
        func freshStore(in directory: URL) throws -> String {
            switch self {
            case .sqlite: directory.appendingPathComponent("store.sqlite").path
            case .postgres: try PostgresServer.shared(packageRoot: CLIRunner.packageRoot.path).freshDatabase("crash")
            }
        }
    }

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

    /// Opens the store at `location` for the test's own reads and writes, runs `body`, and closes it.
    private func withStore(_ location: String, _ body: (any ExampleStore) async throws -> Void) async throws {
        let store = try await ExampleStores.open(location)
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// Parked approvals get their signal from "outside", as `cmkctl signal` would send it.
    private func signalParked(_ journal: some WorkflowJournal) async throws {
        for execution in try await journal.executions(status: .running) where execution.phase == .parked && execution.signal == nil {
            do {
                _ = try await journal.signal(execution: execution.name, payload: ["by": "test"], now: Date())
            } catch let error as WorkflowError where error.code == .executionConflict {
                continue
            }
        }
    }

    private func waitUntilFinished(_ journal: some WorkflowJournal, seconds: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            try await signalParked(journal)
            if try await journal.executions(status: .running).isEmpty { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test(arguments: Backend.allCases)
    func everyExecutionFinishesCorrectlyAfterDozensOfKills(backend: Backend) async throws {
        let directory = try TestPaths.temporaryDirectory("crash")
        let location = try backend.freshStore(in: directory)
        try await withStore(location) { store in
            try await killRepeatedly(store, location: location, directory: directory)
        }
    }

    private func killRepeatedly<Store: ExampleStore>(_ store: Store, location: String, directory: URL) async throws {
        let workflows = try workflowsDirectory(in: directory)
        let effects = directory.appendingPathComponent("effects.log")
        let journal = store.journal
        let tables = try await store.exampleTables()
        let example = try DefinitionLoader(handlerNames: ExampleHandlers.names).load(file: TestPaths.exampleDefinition)

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
            let worker = try TestWorkerProcess(
                store: location, workflows: workflows, owner: "crash-worker", leaseSeconds: 2, effectsLog: effects)
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...600)))
            worker.kill()
            try await signalParked(journal)
        }
        let survivor = try TestWorkerProcess(
            store: location, workflows: workflows, owner: "crash-worker", leaseSeconds: 2, effectsLog: effects)
        let finished = try await waitUntilFinished(journal, seconds: 90)
        // With nothing left to run, the worker idles (it wakes every 0.2 s to look) rather than exit.
        try await Task.sleep(for: .milliseconds(600))
        #expect(survivor.isRunning, "the worker exited once nothing was left to run")
        survivor.kill()
        #expect(finished, "executions still running after the last restart")

        let rotations = try await tables.transaction { try await tables.rotations(in: $0) }
        let effectLines = try String(contentsOf: effects, encoding: .utf8).split(separator: "\n").map(String.init)
        var scheduledKeys: Set<String> = []

        for (name, item) in expected.sorted(by: { $0.key < $1.key }) {
            let execution = try #require(try await journal.execution(named: name))
            let history = try await journal.history(of: name)
            let rotationIDs = rotations.filter { $0.execution == name }.map(\.id)
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

    @Test(arguments: Backend.allCases)
    func twoWorkersNeverRunAStateTwiceAtOnceAndHandOverAfterLeaseExpiry(backend: Backend) async throws {
        let directory = try TestPaths.temporaryDirectory("two-workers")
        let location = try backend.freshStore(in: directory)
        try await withStore(location) { store in
            try await handOver(store, location: location, directory: directory)
        }
    }

    /// Runs as start..end in seconds relative to `instant`, for messages.
    private func describe(_ runs: [ExampleRun], from instant: Double) -> String {
        runs.map { run in
            let end = run.ended.map { String(format: "%.3f", $0 - instant) } ?? "-"
            return "\(run.key) \(String(format: "%.3f", run.started - instant))..\(end)"
        }.joined(separator: ", ")
    }

    private func handOver<Store: ExampleStore>(_ store: Store, location: String, directory: URL) async throws {
        let relay = #"""
            {"StartAt":"A","States":{
              "A":{"Type":"Task","Resource":"arn:aws:states:::activity:exclusive-step","Next":"B"},
              "B":{"Type":"Task","Resource":"arn:aws:states:::activity:exclusive-step","Next":"C"},
              "C":{"Type":"Task","Resource":"arn:aws:states:::activity:exclusive-step","End":true}}}
            """#
        let workflows = try workflowsDirectory(in: directory, extra: ["relay.asl.json": relay])
        let journal = store.journal
        let tables = try await store.exampleTables()
        let definition = try DefinitionLoader(handlerNames: ExampleHandlers.names).load(
            data: Data(relay.utf8), name: "relay", file: "relay.asl.json")
        for index in 0..<6 {
            _ = try await journal.start(name: "relay-\(index)", input: ["sleepSeconds": 0.25], definition: definition, now: Date())
        }
        let leaseSeconds = 1.0
        let first = try TestWorkerProcess(store: location, workflows: workflows, owner: "w1", leaseSeconds: leaseSeconds, effectsLog: nil)
        let second = try TestWorkerProcess(store: location, workflows: workflows, owner: "w2", leaseSeconds: leaseSeconds, effectsLog: nil)
        // Kill the first worker inside a handler: right after it started a run, well before the run's end.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let now = Date().timeIntervalSince1970
            let runs = try await tables.transaction { try await tables.runs(in: $0) }
            if runs.contains(where: { $0.pid == Int(first.pid) && $0.ended == nil && now - $0.started < 0.1 }) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let killedAt = Date().timeIntervalSince1970
        first.kill()
        let finished = try await waitUntilFinished(journal, seconds: 60)
        try await Task.sleep(for: .milliseconds(600))
        #expect(second.isRunning, "the worker exited once nothing was left to run")
        second.kill()
        #expect(finished)
        #expect(try await journal.executions(status: .succeeded).count == 6)

        let runs = try await tables.transaction { try await tables.runs(in: $0) }
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
        #expect(!interrupted.isEmpty, "the first worker was not killed mid-task: its runs \(describe(runs.filter { $0.pid == Int(first.pid) }, from: killedAt))")
        for run in interrupted {
            let rerun = runs.first { $0.key == run.key && $0.pid == Int(second.pid) && $0.ended != nil }
            #expect(rerun != nil, "\(run.key) was not handed over")
            if let rerun {
                #expect(rerun.started >= killedAt + leaseSeconds / 2, "\(run.key) re-ran before the lease expired")
            }
        }
    }
}
