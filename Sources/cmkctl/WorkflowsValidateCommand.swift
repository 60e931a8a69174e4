import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl workflows validate [DIR]`: loads every `*.asl.json` as a worker would and reports each file.
struct WorkflowsValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check every *.asl.json in DIR against the supported subset and the built-in handlers.")

    @Argument(help: "Directory of definitions.")
    var directory: String = "Workflows"

    func run() async throws {
        try await WorkflowCommandRunner.run {
            let loader = DefinitionLoader(handlerNames: BuiltinHandlers.names)
            let files = try DefinitionLoader.definitionFiles(in: URL(fileURLWithPath: directory))
            guard !files.isEmpty else {
                throw WorkflowError(.invalidDefinition, "\(directory): no *.asl.json files")
            }
            var invalid = 0
            for file in files {
                do {
                    let definition = try loader.load(file: file)
                    print("ok     \(file.path) (\(definition.states.count) states)")
                } catch let error as WorkflowError {
                    invalid += 1
                    print("error  \(error.message)")
                }
            }
            if invalid > 0 {
                throw WorkflowError(.invalidDefinition, "\(invalid) of \(files.count) definitions are invalid")
            }
        }
    }
}
