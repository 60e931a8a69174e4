import CMKWorkflow
import Foundation
import Testing

/// Numbers from definitions and inputs never reach a conversion that traps (`Duration.seconds`,
/// `Int(_:)`): far-away due dates sleep in bounded pieces, absurd counts are refused at load.
@Suite struct ConversionSafetyTests {
    @Test(arguments: [1e300, 1e20, Double.greatestFiniteMagnitude])
    func sleepingUntilAFarDeadlineDoesNotTrap(seconds: Double) async throws {
        let sleeper = Task { try await SystemWorkflowClock().sleep(until: Date(timeIntervalSinceNow: seconds)) }
        try await Task.sleep(for: .milliseconds(50))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test(arguments: ["1e300", "1e20", "100000000", "-1", "1.5"])
    func maxAttemptsOutsideTheRangeIsRefusedAtLoad(value: String) {
        let json = #"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":"# + value + "}]}}}"
        let error = #expect(throws: WorkflowError.self) {
            try DefinitionLoader(handlerNames: ["work"]).load(data: Data(json.utf8), name: "test", file: "test.asl.json")
        }
        #expect(error?.code == .invalidDefinition)
        #expect(error?.message.contains("MaxAttempts") == true)
    }
}
