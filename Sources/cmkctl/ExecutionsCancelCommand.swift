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
            let name = self.name
            let execution = try await storeOptions.withStore(create: false) { store in
                try await store.journal.cancel(execution: name, now: Date())
            }
            print("cancelled \(execution.name)")
        }
    }
}
