import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl executions cancel NAME`: ends a running execution; a worker mid-step loses its lease and stops.
struct ExecutionsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a running execution.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Execution name.")
    var name: String

    func run() async throws {
        try await WorkflowCommandRunner.run {
            let journal = try storeOptions.openExisting()
            let execution = try await journal.cancel(execution: name, now: Date())
            print("cancelled \(execution.name)")
        }
    }
}
