import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl signal NAME --payload JSON`: resumes a parked task; the payload becomes the task's result.
struct SignalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal", abstract: "Resume a parked execution with a JSON payload.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Execution name.")
    var name: String

    @Option(help: "JSON payload delivered to the parked task as its result.")
    var payload: String

    func run() async throws {
        try await WorkflowCommandRunner.run {
            let value = try JSONValue(parsing: payload)
            let journal = try storeOptions.openExisting()
            let execution = try await journal.signal(execution: name, payload: value, now: Date())
            print("signalled \(execution.name) at \(execution.stateName)")
        }
    }
}
