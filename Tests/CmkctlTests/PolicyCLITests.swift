import CMKTesting
import Foundation
import Testing

/// `cmkctl policy check` and `policy template`, driven through the built binary with the fixture
/// policies in `fixtures/policies/`.
@Suite struct PolicyCLITests {
    static let role = "arn:aws:iam::111122223333:role/cmkctl-service"
    static let tenant = ["--principal", role, "--identifier", "acmeprod-7f3k2q"]

    static func fixture(_ name: String) -> String {
        CLIRunner.packageRoot.appendingPathComponent("fixtures/policies/\(name).json").path
    }

    @Test("a clean policy exits 0 with a summary and nothing else")
    func cleanPolicy() throws {
        let result = try CLIRunner.run(["policy", "check", "--policy", Self.fixture("real-world-admin-plus-ours")] + Self.tenant)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.hasPrefix("no findings"))
        #expect(result.stderr.isEmpty)
    }

    @Test("blocking findings exit 2, one line each")
    func blockingPolicy() throws {
        let result = try CLIRunner.run(["policy", "check", "--policy", Self.fixture("action-missing")] + Self.tenant)
        #expect(result.status == 2, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.first?.hasPrefix("blocking action-missing kms:ReEncryptFrom: no Allow statement grants kms:ReEncryptFrom") == true)
        #expect(lines.last?.hasPrefix("3 blocking, 0 warnings") == true)
    }

    @Test("warnings alone exit 0 and name the statement")
    func warningsOnly() throws {
        let result = try CLIRunner.run(["policy", "check", "--policy", Self.fixture("action-wildcard-re")] + Self.tenant)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.hasPrefix("warning action-wildcard AllowTenantCryptoWithContext kms:Re*: "))
    }

    @Test("--json parses, with findings, the blocking flag and the statements to add")
    func jsonReport() throws {
        let result = try CLIRunner.run(["policy", "check", "--policy", Self.fixture("source-vpce-mismatch"), "--json",
                                        "--vpce", "vpce-0a1b2c3d4e5f60718", "--vpce", "vpce-1f2e3d4c5b6a70819"] + Self.tenant)
        #expect(result.status == 2, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(report["blocking"] as? Bool == true)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.count == 7)
        #expect(findings.allSatisfy { $0["code"] as? String == "source-vpce-mismatch" && $0["severity"] as? String == "blocking" })
        #expect(findings.first?["action"] as? String == "kms:Encrypt")
        let statements = try #require(report["statementsToAdd"] as? [[String: Any]])
        #expect(statements.count == 2)
    }

    @Test("--policy - reads standard input")
    func standardInput() throws {
        let policy = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("deny-applies")))
        let result = try CLIRunner.run(["policy", "check", "--policy", "-"] + Self.tenant, stdin: policy)
        #expect(result.status == 2)
        #expect(result.stdoutText.hasPrefix("blocking deny-applies NoDecrypt kms:Decrypt: "))
    }

    @Test("a malformed policy exits 65 and an unreadable file 66, one line on stderr")
    func badInput() throws {
        let scratch = try Scratch()
        let malformed = try scratch.write("bad.json", Array(#"{"Statement": [{"Effect": "allow", "Principal": "*", "Action": "kms:*"}]}"#.utf8))
        let bad = try CLIRunner.run(["policy", "check", "--policy", malformed] + Self.tenant)
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("Statement[0]: Effect must be"))
        #expect(bad.stderr.split(separator: "\n").count == 1)
        #expect(bad.stdout.isEmpty)

        let missing = try CLIRunner.run(["policy", "check", "--policy", scratch.path("absent.json")] + Self.tenant)
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("absent.json"))
    }

    @Test("missing or bad arguments are usage errors")
    func usage() throws {
        #expect(try CLIRunner.run(["policy", "check", "--policy", Self.fixture("template"), "--principal", Self.role]).status == 64)
        #expect(try CLIRunner.run(["policy", "check", "--policy", Self.fixture("template"), "--identifier", "x", "--tenant", "acme"]).status == 64)
        #expect(try CLIRunner.run(["policy", "template", "--identifier", "x", "--principal", "not-an-arn"]).status == 64)
    }

    @Test("template prints statements that check as clean")
    func templateRoundTrip() throws {
        let vpce = ["--vpce", "vpce-0a1b2c3d4e5f60718"]
        let template = try CLIRunner.run(["policy", "template"] + Self.tenant + vpce)
        #expect(template.status == 0, "\(template.stderr)")
        let statements = try #require(try JSONSerialization.jsonObject(with: template.stdout) as? [[String: Any]])
        #expect(statements.count == 2)
        let policy = Data((#"{"Version": "2012-10-17", "Statement": "# + template.stdoutText + "}").utf8)
        let check = try CLIRunner.run(["policy", "check", "--policy", "-"] + Self.tenant + vpce, stdin: policy)
        #expect(check.status == 0, "\(check.stdoutText)")
        #expect(check.stdoutText.hasPrefix("no findings"))
    }
}
