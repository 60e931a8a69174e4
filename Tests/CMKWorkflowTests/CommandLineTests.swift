import CMKSQLite
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// The `cmkctl` workflow commands against a real journal: output, stderr lines and exit codes.
@Suite("cmkctl workflow commands")
struct CommandLineTests {
    @Test func validateAcceptsTheRepositoryDefinitions() throws {
        let result = try CLIRunner.run(["workflows", "validate", TestPaths.repositoryRoot.appendingPathComponent("Workflows").path])
        #expect(result.status == 0)
        #expect(result.stdoutText.contains("ok     ") && result.stdoutText.contains("enroll.asl.json (15 states)"))
    }

    @Test func validateNamesFileStateAndFieldAndFails() throws {
        let directory = try TestPaths.temporaryDirectory("validate")
        try #"{"StartAt":"A","States":{"A":{"Type":"Map","End":true}}}"#.write(
            to: directory.appendingPathComponent("bad.asl.json"), atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["workflows", "validate", directory.path])
        #expect(result.status == 65)
        #expect(result.stdoutText.contains(#"bad.asl.json: state "A": field "Type": "Map" is not in the supported subset"#))
        #expect(result.stderr == "cmkctl: error: 1 of 1 definitions are invalid\n")
    }

    @Test func aMissingStoreIsReportedNotCreated() throws {
        let directory = try TestPaths.temporaryDirectory("nostore")
        let result = try CLIRunner.run(["executions", "list"], in: directory)
        #expect(result.status == 74)
        #expect(result.stderr == "cmkctl: error: no store at .cmkctl/store.sqlite (use --store PATH or URL)\n")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(".cmkctl").path))
    }

    @Test func listShowSignalAndCancel() async throws {
        let directory = try TestPaths.temporaryDirectory("cli")
        let store = directory.appendingPathComponent("store.sqlite").path
        let journal = try SQLiteJournal(path: store)
        var handlers = HandlerRegistry<SQLiteTransaction>()
        handlers.register("wait-for-customer", .detached { _ in .parked })
        let definition = try DefinitionLoader(handlerNames: handlers.names).load(
            data: Data(#"{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::activity:wait-for-customer","ResultPath":"$.answer","End":true}}}"#.utf8),
            name: "ask", file: "ask.asl.json")
        let worker = WorkflowWorker(journal: journal, definitions: [definition], handlers: handlers)
        try await worker.start(workflow: "ask", name: "ask-1", input: ["q": "fix the key policy"])
        try await worker.start(workflow: "ask", name: "ask-2", input: [:])
        try await worker.runUntilIdle()

        let list = try CLIRunner.run(["executions", "list", "--store", store, "--status", "running"])
        #expect(list.status == 0)
        #expect(list.stdoutText.split(separator: "\n").count == 3)
        #expect(list.stdoutText.contains("ask-1") && list.stdoutText.contains("Ask (parked)"))

        #expect(try CLIRunner.run(["signal", "ask-1", "--store", store, "--payload", "{nope"]).status == 64)
        let signal = try CLIRunner.run(["signal", "ask-1", "--store", store, "--payload", #"{"fixed":true}"#])
        #expect(signal.status == 0 && signal.stdoutText == "signalled ask-1 at Ask\n")
        let again = try CLIRunner.run(["signal", "ask-1", "--store", store, "--payload", "{}"])
        #expect(again.status == 4 && again.stderr.hasPrefix("cmkctl: error: execution \"ask-1\" is not parked"))
        try await worker.runUntilIdle()

        let show = try CLIRunner.run(["executions", "show", "ask-1", "--store", store, "--json"])
        #expect(show.status == 0)
        let document = try JSONValue(parsing: show.stdoutText)
        #expect(document["execution"]?["status"] == "succeeded")
        #expect(document["execution"]?["output"] == ["q": "fix the key policy", "answer": ["fixed": true]])
        guard case .array(let events)? = document["events"] else {
            Issue.record("no events array")
            return
        }
        #expect(events.compactMap { $0["kind"]?.stringValue } == [
            "ExecutionStarted", "StateEntered", "TaskScheduled", "Parked", "Signalled", "TaskSucceeded", "ExecutionSucceeded",
        ])
        let timeline = try CLIRunner.run(["executions", "show", "ask-1", "--store", store])
        #expect(timeline.stdoutText.contains("   5  ") && timeline.stdoutText.contains("Signalled  Ask  attempt 1"))

        #expect(try CLIRunner.run(["executions", "cancel", "ask-2", "--store", store]).stdoutText == "cancelled ask-2\n")
        #expect(try CLIRunner.run(["executions", "cancel", "ask-2", "--store", store]).status == 4)
        #expect(try CLIRunner.run(["executions", "show", "nope", "--store", store]).status == 67)
        // --json on the list, signal and cancel: one document each.
        let listed = try JSONValue(parsing: try CLIRunner.run(["executions", "list", "--store", store, "--json"]).stdoutText)
        guard case .array(let summaries) = listed else {
            Issue.record("executions list --json is not an array")
            return
        }
        #expect(Set(summaries.compactMap { $0["name"]?.stringValue }) == ["ask-1", "ask-2"])
        #expect(summaries.first { $0["name"] == "ask-2" }?["status"] == "cancelled")
        let cancelled = try CLIRunner.run(["executions", "list", "--store", store, "--status", "cancelled"])
        #expect(cancelled.stdoutText.contains("ask-2") && !cancelled.stdoutText.contains("ask-1"))
        #expect(try CLIRunner.run(["executions", "list", "--store", store, "--status", "bogus"]).status == 64)
    }
}
