import CMKWorkflow
import Testing

@Suite("Retry schedule and error matching")
struct RetryScheduleTests {
    @Test func backsOffExponentially() {
        let rule = RetryRule(errorEquals: ["X"], intervalSeconds: 2, maxAttempts: 5, backoffRate: 3)
        #expect((1...4).map { rule.delay(beforeRetry: $0, randomUnit: 0.5) } == [2, 6, 18, 54])
    }

    /// The largest definition the loader accepts cannot make an infinite or NaN delay (infinity times a
    /// FULL jitter of zero would be NaN), and the schedule stops growing at its cap.
    @Test func aHugeBackoffStopsAtAYear() {
        let rule = RetryRule(errorEquals: ["X"], intervalSeconds: 99_999_999, maxAttempts: 99_999_999, backoffRate: 1e300,
                             jitter: .full)
        for randomUnit in [0.0, 0.5, 0.999] {
            let delay = rule.delay(beforeRetry: 99_999_999, randomUnit: randomUnit)
            #expect(delay.isFinite && delay == RetryRule.longestDelaySeconds * randomUnit)
        }
    }

    @Test func capsAtMaxDelay() {
        let rule = RetryRule(errorEquals: ["X"], intervalSeconds: 1, maxAttempts: 10, backoffRate: 2, maxDelaySeconds: 5)
        #expect((1...5).map { rule.delay(beforeRetry: $0, randomUnit: 0) } == [1, 2, 4, 5, 5])
    }

    @Test(arguments: [0.0, 0.25, 0.999])
    func fullJitterScalesTheCappedDelay(randomUnit: Double) {
        let rule = RetryRule(errorEquals: ["X"], intervalSeconds: 4, maxAttempts: 3, backoffRate: 2, maxDelaySeconds: 6, jitter: .full)
        #expect(rule.delay(beforeRetry: 1, randomUnit: randomUnit) == 4 * randomUnit)
        #expect(rule.delay(beforeRetry: 2, randomUnit: randomUnit) == 6 * randomUnit)
    }

    @Test func defaultsAreStepFunctions() {
        let rule = RetryRule(errorEquals: ["X"])
        #expect(rule.maxAttempts == 3)
        #expect((1...3).map { rule.delay(beforeRetry: $0, randomUnit: 0) } == [1, 2, 4])
    }

    @Test(arguments: [
        ("Custom", ["Custom"], true),
        ("Custom", ["Other"], false),
        ("Custom", ["States.ALL"], true),
        ("States.Timeout", ["States.ALL"], true),
        ("Custom", ["States.TaskFailed"], true),
        ("States.HeartbeatTimeout", ["States.TaskFailed"], true),
        ("States.Timeout", ["States.TaskFailed"], false),
        ("States.Timeout", ["States.Timeout"], true),
    ])
    func matchesErrors(error: String, errorEquals: [String], expected: Bool) {
        #expect(StatesError.matches(error, errorEquals) == expected)
    }
}
