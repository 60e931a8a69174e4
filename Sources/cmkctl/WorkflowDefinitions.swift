import CMKWorkflow
import Foundation

/// Where a command's workflow definitions come from: the ones built into the binary, or `--workflows DIR`.
///
/// Built in by default so an installed `cmkctl` works from any directory; a directory replaces them
/// all (an operator testing an edited definition), it is never merged with them.
struct WorkflowDefinitions {
    /// The override directory; nil means the built-in definitions.
    let directory: String?

    /// Names a file for messages: its path, or `built-in NAME` for an embedded one.
    private static func builtinLabel(_ name: String) -> String { "built-in \(name)" }

    /// Every definition, each checked against the handlers the caller runs.
    func loadAll(handlerNames: Set<String>) throws -> [StateMachineDefinition] {
        try loadEach(handlerNames: handlerNames).map { try $0.result.get() }
    }

    /// One definition by workflow name (the file name without `.asl.json`).
    func load(named name: String, handlerNames: Set<String>) throws -> StateMachineDefinition {
        let loader = DefinitionLoader(handlerNames: handlerNames)
        let file = "\(name).asl.json"
        if let directory {
            return try loader.load(file: URL(fileURLWithPath: directory).appendingPathComponent(file))
        }
        guard let embedded = EmbeddedWorkflows.files.first(where: { $0.name == file }) else {
            throw WorkflowError(.workflowNotLoaded, "no built-in workflow named \"\(name)\"")
        }
        return try loader.load(data: Data(embedded.text.utf8), name: name, file: Self.builtinLabel(file))
    }

    /// Each definition's label (path or `built-in NAME`) and outcome, in file-name order, so that
    /// `workflows validate` reports every file rather than stop at the first invalid one.
    func loadEach(handlerNames: Set<String>) throws -> [(label: String, result: Result<StateMachineDefinition, WorkflowError>)] {
        let loader = DefinitionLoader(handlerNames: handlerNames)
        func attempt(_ body: () throws -> StateMachineDefinition) -> Result<StateMachineDefinition, WorkflowError> {
            do {
                return .success(try body())
            } catch let error as WorkflowError {
                return .failure(error)
            } catch {
                return .failure(WorkflowError(.invalidDefinition, "\(error)"))
            }
        }
        if let directory {
            let files = try DefinitionLoader.definitionFiles(in: URL(fileURLWithPath: directory))
            guard !files.isEmpty else { throw WorkflowError(.invalidDefinition, "\(directory): no *.asl.json files") }
            return files.map { file in (file.path, attempt { try loader.load(file: file) }) }
        }
        return EmbeddedWorkflows.files.map { embedded in
            let name = String(embedded.name.dropLast(".asl.json".count))
            let label = Self.builtinLabel(embedded.name)
            return (label, attempt { try loader.load(data: Data(embedded.text.utf8), name: name, file: label) })
        }
    }
}
