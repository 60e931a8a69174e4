import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl executions cancel NAME`: ends a running execution; a worker mid-step loses its lease and stops.
struct ExecutionsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a running execution.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Execution name.")
    var name: String

    func run() async throws {
        let name = self.name
        let execution = try await storeOptions.withStore(create: false) { store in
            try await store.journal.cancel(execution: name, now: Date())
        }
        if output.json {
            try printJSON(ExecutionSummary(execution))
        } else {
            print("cancelled \(execution.name)")
        }
    }
}
