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

    func run() async throws {
        try await WorkflowCommandRunner.run {
            let outcomes = try WorkflowDefinitions(directory: directory).loadEach(handlerNames: EnrollmentWorkflow.handlerNames)
            var invalid = 0
            for (label, result) in outcomes {
                switch result {
                case .success(let definition):
                    print("ok     \(label) (\(definition.states.count) states)")
                case .failure(let error):
                    invalid += 1
                    print("error  \(error.message)")
                }
            }
            if invalid > 0 {
                throw WorkflowError(.invalidDefinition, "\(invalid) of \(outcomes.count) definitions are invalid")
            }
        }
    }
}
