import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl signal NAME --payload JSON`: resumes a parked task; the payload becomes the task's result.
struct SignalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal", abstract: "Resume a parked execution with a JSON payload.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Execution name.")
    var name: String

    @Option(help: "JSON payload delivered to the parked task as its result, at most 65536 bytes.")
    var payload: String

    /// The largest payload: it becomes the task's result and is copied into the events after it.
    static let maxPayloadBytes = 65_536

    func validate() throws {
        guard payload.utf8.count <= Self.maxPayloadBytes else {
            throw ValidationError("--payload is \(payload.utf8.count) bytes; the limit is \(Self.maxPayloadBytes) bytes (64 KiB)")
        }
    }

    func run() async throws {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: payload)
        } catch let error as JSONError {
            throw WorkflowError(.invalidJSON, "--payload is not valid JSON: \(error.message)")
        }
        let name = self.name
        let execution = try await storeOptions.withStore(create: false) { store in
            try await store.journal.signal(execution: name, payload: value, now: Date())
        }
        if output.json {
            try printJSON(ExecutionSummary(execution))
        } else {
            print("signalled \(execution.name) at \(execution.stateName)")
        }
    }
}
