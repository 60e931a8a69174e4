import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl executions show NAME [--json]`: an execution and its history as a timeline.
struct ExecutionsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an execution's history.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Execution name.")
    var name: String

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let name = self.name
        let (found, events) = try await storeOptions.withStore(create: false) { store in
            (try await store.journal.execution(named: name), try await store.journal.history(of: name))
        }
        guard let execution = found else {
            throw WorkflowError(.executionNotFound, "no execution named \"\(name)\"")
        }
        if output.json {
            print(document(execution, events).prettyText)
            return
        }
        print("execution \(execution.name)  workflow \(execution.workflow)  status \(execution.status.rawValue)")
        if execution.status == .running {
            print("current   \(execution.stateName) (\(execution.phase.rawValue), attempt \(execution.attempt))")
        }
        if let output = execution.output { print("output    \(output.jsonText)") }
        if let error = execution.error { print("error     \(error): \(execution.cause ?? "")".escapingControlCharacters) }
        for event in events {
            var line = String(format: "%4d  ", event.seq) + event.at.formatted(.iso8601) + "  " + event.kind.rawValue
            if let state = event.state { line += "  \(state)" }
            if let attempt = event.attempt { line += "  attempt \(attempt)" }
            if event.detail != .object([:]) { line += "  \(event.detail.jsonText)" }
            print(line.escapingControlCharacters)
        }
    }

    private func document(_ execution: ExecutionSnapshot, _ events: [WorkflowEvent]) -> JSONValue {
        var summary: JSONObject = [
            "name": .string(execution.name), "workflow": .string(execution.workflow),
            "status": .string(execution.status.rawValue), "state": .string(execution.stateName),
            "phase": .string(execution.phase.rawValue), "attempt": .number(Double(execution.attempt)),
            "input": execution.input, "startedAt": .string(execution.startedAt.formatted(.iso8601)),
        ]
        if let output = execution.output { summary["output"] = output }
        if let error = execution.error { summary["error"] = .string(error) }
        if let cause = execution.cause { summary["cause"] = .string(cause) }
        let history: [JSONValue] = events.map { event in
            var entry: JSONObject = [
                "seq": .number(Double(event.seq)), "at": .string(event.at.formatted(.iso8601)),
                "kind": .string(event.kind.rawValue), "detail": event.detail,
            ]
            if let state = event.state { entry["state"] = .string(state) }
            if let attempt = event.attempt { entry["attempt"] = .number(Double(attempt)) }
            return .object(entry)
        }
        return ["execution": .object(summary), "events": .array(history)]
    }
}
