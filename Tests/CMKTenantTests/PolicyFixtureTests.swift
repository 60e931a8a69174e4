import CMKTenant
import Testing

/// Every fixture policy in `fixtures/policies/` against the exact findings `expected.json` lists.
@Suite struct PolicyFixtureTests {
    @Test("the analyzer reports exactly the expected findings", arguments: PolicyFixtures.names)
    func expectedFindings(name: String) throws {
        let fixture = try #require(PolicyFixtures.expectedCase(name))
        let analyzer = PolicyAnalyzer(requirements: PolicyFixtures.requirements(for: fixture))
        let report = try analyzer.analyze(policy: try PolicyFixtures.policy(name))
        let actual = report.findings.map {
            PolicyFixtures.Case.Finding(code: $0.code.rawValue, severity: $0.severity.rawValue, statement: $0.statement, action: $0.action)
        }
        #expect(actual == fixture.findings, "\(report.findings.map(\.message))")
        #expect(report.isBlocking == fixture.findings.contains { $0.severity == "blocking" })
        for finding in report.findings {
            #expect(finding.severity == finding.code.severity)
            #expect(!finding.message.isEmpty && !finding.message.contains("\n"))
        }
    }

    @Test("every fixture file has expectations and every expectation a file")
    func fixturesAndExpectationsAgree() {
        #expect(PolicyFixtures.filesOnDisk == PolicyFixtures.names.sorted())
        #expect(PolicyFixtures.names.count >= 25)
    }

    @Test("every finding code is exercised by some fixture")
    func everyCodeCovered() {
        let covered = Set(PolicyFixtures.names.compactMap(PolicyFixtures.expectedCase).flatMap(\.findings).map(\.code))
        #expect(covered == Set(PolicyFinding.Code.allCases.map(\.rawValue)))
    }
}
