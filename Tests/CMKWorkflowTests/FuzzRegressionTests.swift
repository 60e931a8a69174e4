import CMKWorkflow
import Foundation
import Testing

/// Definitions the `workflow` fuzzer (`scripts/fuzz workflow`) found wrong, from
/// `fixtures/fuzz-regressions/workflow/`: each must be refused with an `invalidDefinition` error
/// that names the file and the field, never trap the process.
@Suite("Fuzz regressions: ASL definitions")
struct WorkflowFuzzRegressionTests {
    static let directory = TestPaths.repositoryRoot.appendingPathComponent("fixtures/fuzz-regressions/workflow")
    static let inputs = (try? FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()) ?? []

    let loader = DefinitionLoader(handlerNames: ["notify-tenant"])

    @Test func theRegressionInputsArePresent() {
        #expect(!Self.inputs.isEmpty, "no inputs in \(Self.directory.path)")
    }

    @Test(arguments: inputs)
    func isRefusedWithTheFieldNamed(_ name: String) throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(name))
        let error = #expect(throws: WorkflowError.self) {
            try loader.load(data: data, name: "fuzz", file: name)
        }
        #expect(error?.code == .invalidDefinition)
        #expect(error?.message.hasPrefix(name) == true)
    }

    @Test func aMaxAttemptsBeyondTheStepFunctionsLimitIsRefused() throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("max-attempts-beyond-int.asl.json"))
        let error = #expect(throws: WorkflowError.self) {
            try loader.load(data: data, name: "fuzz", file: "max-attempts-beyond-int.asl.json")
        }
        #expect(error?.message.contains("Retry[0].MaxAttempts") == true)
        #expect(error?.message.contains("99999999") == true)
    }
}
