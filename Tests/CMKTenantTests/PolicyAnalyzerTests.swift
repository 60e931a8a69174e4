import CMKTenant
import Foundation
import Testing

/// Malformed documents, the template, and condition semantics not worth a fixture file each.
@Suite struct PolicyAnalyzerTests {
    static let role = "arn:aws:iam::111122223333:role/cmkctl-service"
    static let requirements = PolicyRequirements(servicePrincipal: role, contextValue: "acmeprod-7f3k2q")
    static let endpoints = ["vpce-0a1b2c3d4e5f60718", "vpce-1f2e3d4c5b6a70819"]

    static func codes(_ policy: String, _ requirements: PolicyRequirements = requirements) throws -> [String] {
        try PolicyAnalyzer(requirements: requirements).analyze(policy: policy).findings.map { "\($0.code.rawValue) \($0.action ?? "-")" }
    }

    /// A one-statement policy granting every call to our role, with `condition` as its Condition.
    static func allInOne(condition: String) -> String {
        """
        {"Statement": {"Effect": "Allow", "Principal": {"AWS": "\(role)"}, "Resource": "*",
          "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetKeyPolicy"],
          "Condition": \(condition)}}
        """
    }

    // MARK: Malformed documents

    static let malformed: [(String, String)] = [
        ("not JSON", "not JSON"),
        (#"{"Version": "2012-10-17"}"#, "no Statement"),
        ("[]", "not a JSON object"),
        (#"{"Statement": "Allow"}"#, "Statement must be"),
        (#"{"Statement": [42]}"#, "Statement[0] is not an object"),
        (#"{"Statement": [{"Principal": "*", "Action": "kms:*"}]}"#, "Statement[0]: Effect is missing"),
        (#"{"Statement": [{"Effect": "allow", "Principal": "*", "Action": "kms:*"}]}"#, #"Statement[0]: Effect must be "Allow" or "Deny""#),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*"}, {"Sid": "Two", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "NotAction": "kms:Encrypt"}]}"#,
         "Statement[1] (Two): Action and NotAction are both present"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*"}]}"#, "Statement[0]: Action is missing"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": 7}]}"#, "Statement[0]: Action must be a string or a list of strings"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": [true]}]}"#, "Statement[0]: NotAction must be"),
        (#"{"Statement": [{"Effect": "Allow", "Action": "kms:*"}]}"#, "Statement[0]: Principal is missing"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*", "NotPrincipal": "*", "Action": "kms:*"}]}"#, "Principal and NotPrincipal are both present"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "arn:aws:iam::111122223333:root", "Action": "kms:*"}]}"#, "Statement[0]: Principal must be"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": 111122223333}, "Action": "kms:*"}]}"#, "Statement[0]: Principal must be"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Condition": "yes"}]}"#, "Statement[0]: Condition must be an object"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Condition": {"StringEquals": "x"}}]}"#, "Condition StringEquals must map"),
        (#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Condition": {"StringEquals": {"aws:SourceVpce": {"a": 1}}}}]}"#, "Condition StringEquals aws:SourceVpce must be"),
        (#"{"Statement": [{"Sid": 3, "Effect": "Allow", "Principal": "*", "Action": "kms:*"}]}"#, "Statement[0]: Sid must be a string"),
    ]

    @Test("malformed documents throw malformedPolicy naming the statement and field", arguments: PolicyAnalyzerTests.malformed)
    func malformedDocuments(policy: String, fragment: String) {
        let error = #expect(throws: TenantError.self) {
            try PolicyAnalyzer(requirements: Self.requirements).analyze(policy: policy)
        }
        #expect(error?.code == .malformedPolicy)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    // MARK: Template

    @Test("the template, pasted into a policy, has no findings", arguments: [[], [PolicyAnalyzerTests.endpoints[0]], PolicyAnalyzerTests.endpoints])
    func templateIsClean(endpoints: [String]) throws {
        var requirements = Self.requirements
        requirements.vpcEndpointIDs = endpoints
        let statements = PolicyTemplate.statements(for: requirements)
        let policy = #"{"Version": "2012-10-17", "Statement": "# + statements + "}"
        #expect(try PolicyAnalyzer(requirements: requirements).analyze(policy: policy).findings == [])
        #expect(try PolicyAnalyzer(requirements: requirements).analyze(policy: PolicyTemplate.document(for: requirements)).findings == [])
        #expect(statements.contains(#""kms:EncryptionContext:cmk-tenant": "acmeprod-7f3k2q""#))
        for endpoint in endpoints { #expect(statements.contains(endpoint)) }
        #expect(statements.contains("aws:SourceVpce") == !endpoints.isEmpty)
    }

    @Test("the template fills in a custom context key, and is blocking for another tenant")
    func templateIsTenantSpecific() throws {
        let ours = PolicyRequirements(servicePrincipal: Self.role, contextKey: "tenant", contextValue: "globex-2b9x")
        let statements = PolicyTemplate.statements(for: ours)
        #expect(statements.contains(#""kms:EncryptionContext:tenant": "globex-2b9x""#))
        let report = try PolicyAnalyzer(requirements: Self.requirements).analyze(policy: #"{"Statement": "# + statements + "}")
        #expect(report.isBlocking)
        #expect(report.findings.allSatisfy { $0.code == .contextConditionMismatch })
        #expect(report.findings.count == 5)
    }

    @Test("the template fixture is the template")
    func templateFixtureMatches() throws {
        let fixture = try PolicyFixtures.policy("template")
        let generated = PolicyTemplate.document(for: PolicyFixtures.defaultRequirements)
        let fixtureStatements = try #require((try JSONSerialization.jsonObject(with: Data(fixture.utf8)) as? [String: Any])?["Statement"] as? NSArray)
        let generatedStatements = try #require((try JSONSerialization.jsonObject(with: Data(generated.utf8)) as? [String: Any])?["Statement"] as? NSArray)
        #expect(fixtureStatements == generatedStatements)
    }

    // MARK: Conditions

    @Test("conditions cmkctl cannot evaluate: an Allow is assumed not to grant, and the finding says why")
    func undecidedAllow() throws {
        let report = try PolicyAnalyzer(requirements: Self.requirements)
            .analyze(policy: Self.allInOne(condition: #"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#))
        #expect(report.findings.map(\.code) == Array(repeating: .actionMissing, count: 7))
        #expect(report.findings.allSatisfy { $0.message.contains("aws:SourceIp") && $0.message.contains("cannot evaluate") })
    }

    @Test("ForAnyValue on a key the call lacks fails; ForAllValues and IfExists hold")
    func setQualifiersOnAbsentKeys() throws {
        let anyValue = Self.allInOne(condition: #"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "cmk-tenant"}}"#)
        #expect(try Self.codes(anyValue) == ["context-condition-on-metadata-action kms:DescribeKey",
                                             "context-condition-on-metadata-action kms:GetKeyPolicy",
                                             "context-condition-missing -"])
        let allValues = Self.allInOne(condition: #"{"ForAllValues:StringLike": {"kms:EncryptionContextKeys": ["cmk-*"]}}"#)
        #expect(try Self.codes(allValues) == ["context-condition-missing -"])
        let ifExists = Self.allInOne(condition: #"{"StringLikeIfExists": {"kms:encryptioncontext:cmk-tenant": "acmeprod-7f3k2q"}}"#)
        #expect(try Self.codes(ifExists) == [])
    }

    @Test("a context condition with several values grants when one is ours; a negated one refuses")
    func multipleValues() throws {
        let oneOfThem = Self.allInOne(condition: #"{"StringEqualsIfExists": {"kms:EncryptionContext:cmk-tenant": ["globex-2b9x", "acmeprod-7f3k2q"]}}"#)
        #expect(try Self.codes(oneOfThem) == [])
        let notOurs = Self.allInOne(condition: #"{"StringNotEquals": {"kms:EncryptionContext:cmk-tenant": ["globex-2b9x", "acmeprod-7f3k2q"]}}"#)
        #expect(try Self.codes(notOurs).filter { $0.hasPrefix("context-condition-mismatch") }.count == 5)
    }

    @Test("aws:PrincipalArn and kms:CallerAccount are known: matching ones grant, others refuse")
    func principalConditions() throws {
        let everyoneButScoped = """
        {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["kms:DescribeKey", "kms:GetKeyPolicy"], "Resource": "*",
          "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/cmkctl-*"}, "StringEquals": {"kms:CallerAccount": "111122223333"}}}]}
        """
        #expect(try Self.codes(everyoneButScoped) == ["action-missing kms:Encrypt", "action-missing kms:Decrypt", "action-missing kms:GenerateDataKey",
                                                      "action-missing kms:ReEncryptFrom", "action-missing kms:ReEncryptTo"])
        let someoneElse = everyoneButScoped.replacingOccurrences(of: "cmkctl-*", with: "billing")
        let report = try PolicyAnalyzer(requirements: Self.requirements).analyze(policy: someoneElse)
        #expect(report.findings.count == 7)
        #expect(report.findings.last?.message.contains("aws:PrincipalArn") == true)
    }

    @Test("a Deny naming our role only through a condition still applies when the condition holds")
    func denyWithCondition() throws {
        let policy = PolicyTemplate.document(for: Self.requirements).replacingOccurrences(of: "\"Statement\": [", with: """
        "Statement": [{"Sid": "NoService", "Effect": "Deny", "Principal": "*", "Action": "kms:GetKeyPolicy", "Resource": "*",
          "Condition": {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}},
        """)
        let report = try PolicyAnalyzer(requirements: Self.requirements).analyze(policy: policy)
        #expect(report.findings.map(\.code) == [.denyApplies])
        #expect(report.findings.first?.statement == "NoService")
        #expect(report.findings.first?.message.contains("conditions hold") == true)
    }

    @Test("a NotPrincipal Deny listing the role without its account still applies, and says so")
    func notPrincipalWithoutAccount() throws {
        let policy = PolicyTemplate.document(for: Self.requirements).replacingOccurrences(of: "\"Statement\": [", with: """
        "Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": "\(Self.role)"}, "Action": "kms:Decrypt", "Resource": "*"},
        """)
        let report = try PolicyAnalyzer(requirements: Self.requirements).analyze(policy: policy)
        #expect(report.findings.map(\.code) == [.notPrincipalDeny])
        #expect(report.findings.first?.statement == "Statement[0]")
        #expect(report.findings.first?.message.contains("not its account") == true)
    }

    // MARK: Report

    @Test("findings encode with every member, null when absent, and decode back")
    func findingsRoundTrip() throws {
        let report = try PolicyAnalyzer(requirements: Self.requirements).analyze(policy: try PolicyFixtures.policy("several-findings"))
        let data = try JSONEncoder().encode(report)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""statement":null"#) || text.contains(#""action":null"#))
        #expect(try JSONDecoder().decode(PolicyReport.self, from: data) == report)
        #expect(report.blockingFindings.count + report.warnings.count == report.findings.count)
    }

    @Test("code raw values are stable kebab-case")
    func codesAreStable() {
        #expect(PolicyFinding.Code.allCases.map(\.rawValue) == [
            "principal-missing", "action-missing", "context-condition-mismatch", "context-condition-on-metadata-action",
            "source-vpce-mismatch", "deny-applies", "not-principal-deny", "not-action-deny",
            "context-condition-missing", "source-vpce-missing", "public-allow", "not-action-allow", "not-principal-allow",
            "action-wildcard",
        ])
        #expect(PolicyFinding.Code.allCases.filter { $0.severity == .blocking }.count == 8)
    }
}
