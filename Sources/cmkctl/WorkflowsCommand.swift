import ArgumentParser

/// `cmkctl workflows ...`: operations on definition files.
struct WorkflowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows", abstract: "Workflow definitions (Amazon States Language subset).",
        subcommands: [WorkflowsValidateCommand.self, WorkflowsExportCommand.self])
}
