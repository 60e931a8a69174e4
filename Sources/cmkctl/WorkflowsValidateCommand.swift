import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl workflows validate [DIR]`: loads every definition as a worker would and reports each one.
struct WorkflowsValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check workflow definitions against the supported subset and the handlers cmkctl runs.",
        discussion: """
            Without DIR, checks the definitions built into cmkctl; with DIR, every *.asl.json in it. \
            What Step Functions refuses is refused here too (for example a fractional IntervalSeconds).
            """)

    @Argument(help: "Directory of *.asl.json definitions (default: the built-in ones).")
    var directory: String?

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let outcomes = try WorkflowDefinitions(directory: directory).loadEach(handlerNames: EnrollmentWorkflow.handlerNames.union(RevocationWorkflow.handlerNames).union(ReencryptionWorkflow.handlerNames))
        let checked = outcomes.map { label, result in
            switch result {
            case .success(let definition): CheckedDefinition(file: label, valid: true, states: definition.states.count, error: nil)
            case .failure(let error): CheckedDefinition(file: label, valid: false, states: nil, error: error.message)
            }
        }
        if output.json {
            try printJSON(checked)
        } else {
            for definition in checked {
                print(definition.valid ? "ok     \(definition.file) (\(definition.states ?? 0) states)" : "error  \(definition.error ?? "")")
            }
        }
        let invalid = checked.filter { !$0.valid }.count
        if invalid > 0 {
            throw WorkflowError(.invalidDefinition, "\(invalid) of \(checked.count) definitions are invalid")
        }
    }
}

/// One definition in `workflows validate --json`.
struct CheckedDefinition: Encodable {
    let file: String
    let valid: Bool
    let states: Int?
    let error: String?
}
