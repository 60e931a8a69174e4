import ArgumentParser

/// `cmkctl executions ...`: inspect and control executions in the journal.
struct ExecutionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executions", abstract: "Workflow executions in the journal.",
        subcommands: [ExecutionsListCommand.self, ExecutionsShowCommand.self, ExecutionsCancelCommand.self])
}
