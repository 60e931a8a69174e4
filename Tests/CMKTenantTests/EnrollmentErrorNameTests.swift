import CMKTenant
import CMKWorkflow
import Foundation
import Testing

/// The error names the enrollment's handlers raise and the ones `enroll.asl.json` retries and catches
/// are the same strings: a renamed constant or a typo in the definition fails here, not in production.
@Suite struct EnrollmentErrorNameTests {
    static let definition = Result {
        try EnrollmentWorkflow.loadDefinition(directory: URL(fileURLWithPath: TenantHarness.packageRoot + "/Workflows"))
    }

    /// Every custom name (not `States.*`) in a Retry or Catch of the definition.
    static func namesInDefinition() throws -> (retried: Set<String>, caught: Set<String>) {
        var retried: Set<String> = [], caught: Set<String> = []
        for state in try definition.get().states.values {
            guard case .task(let spec) = state.kind else { continue }
            retried.formUnion(spec.retry.flatMap(\.errorEquals).filter { !$0.hasPrefix("States.") })
            caught.formUnion(spec.catchers.flatMap(\.errorEquals).filter { !$0.hasPrefix("States.") })
        }
        return (retried, caught)
    }

    @Test func everyNameTheDefinitionRetriesOrCatchesIsRaisedByAHandler() throws {
        let raised = Set(EnrollmentWorkflow.ErrorName.allCases.map(\.rawValue))
        let (retried, caught) = try Self.namesInDefinition()
        #expect(retried.union(caught).subtracting(raised).isEmpty, "named in enroll.asl.json but never raised: \(retried.union(caught).subtracting(raised))")
    }

    @Test(arguments: EnrollmentWorkflow.ErrorName.allCases)
    func aRetriedNameIsRetriedByTheDefinition(name: EnrollmentWorkflow.ErrorName) throws {
        let (retried, _) = try Self.namesInDefinition()
        #expect(retried.contains(name.rawValue) == name.isRetried, "\(name.rawValue)")
    }
}
