import ArgumentParser
import CMKKMS
import CMKTenant
import Foundation

/// `cmkctl policy check --policy FILE ...`: analyzes a key policy document (as GetKeyPolicy returns
/// it) and prints the findings; the exit status says whether cmkctl's calls would fail.
struct PolicyCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a key policy document against the KMS calls cmkctl makes for a tenant.",
        discussion: """
        Prints one line per finding (severity, code, statement, action, message) and a summary. \
        Blocking findings make cmkctl's calls fail; warnings leave the key less protected than it \
        should be. Codes are listed in docs/policy.md.
        Exit codes: 0 nothing blocking, 2 blocking findings, 65 malformed policy, 66 unreadable file.
        """
    )

    /// Exit status when the policy would refuse some of our calls.
    static let blockingExitCode: Int32 = 2

    @Option(name: .customLong("policy"), help: ArgumentHelp("The key policy document (JSON); - reads standard input.", valueName: "file"))
    var policyFile: String

    @OptionGroup var options: PolicyRequirementsOptions

    @Flag(help: "Print a JSON report instead of lines.") var json = false

    func run() async throws {
        let requirements = try options.requirements()
        var report: PolicyReport?
        try await reportingFailures {
            let policy = try readPolicy()
            do {
                report = try PolicyAnalyzer(requirements: requirements).analyze(policy: policy)
            } catch let error as TenantError where error.code == .malformedPolicy {
                throw CommandFailure(status: .dataError, message: "\(policyFile == "-" ? "standard input" : policyFile): \(error.message)")
            }
        }
        guard let report else { return }
        if json {
            print(Self.json(report, requirements: requirements).serialized(pretty: true))
        } else {
            for finding in report.findings { print(Self.line(finding)) }
            print(Self.summary(report))
        }
        if report.isBlocking { throw ExitCode(Self.blockingExitCode) }
    }

    private func readPolicy() throws -> String {
        let data: Data
        do {
            if policyFile == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                data = try Data(contentsOf: URL(fileURLWithPath: policyFile))
            }
        } catch {
            throw CommandFailure(status: .noInput, message: "cannot read \(policyFile): \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(status: .dataError, message: "\(policyFile): not UTF-8 text")
        }
        return text
    }

    /// `blocking action-missing Statement[1] kms:Decrypt: message`; absent parts are left out.
    static func line(_ finding: PolicyFinding) -> String {
        let parts = [finding.severity.rawValue, finding.code.rawValue, finding.statement, finding.action].compactMap { $0 }
        return parts.joined(separator: " ") + ": " + finding.message
    }

    static func summary(_ report: PolicyReport) -> String {
        let blocking = report.blockingFindings.count, warnings = report.warnings.count
        let counts = "\(blocking) blocking, \(warnings) warning\(warnings == 1 ? "" : "s")"
        if blocking > 0 { return "\(counts): cmkctl's calls would fail; `cmkctl policy template` prints the statements to add" }
        if warnings > 0 { return "\(counts): cmkctl's calls are allowed, but the key is less protected than it should be" }
        return "no findings: the policy allows every call cmkctl makes, under the tenant's encryption context"
    }

    /// `{"blocking": ..., "findings": [...], "statementsToAdd": [...]}`, the template included
    /// whenever there is something to fix.
    static func json(_ report: PolicyReport, requirements: PolicyRequirements) -> CMKKMS.JSONValue {
        func optional(_ text: String?) -> CMKKMS.JSONValue { text.map(CMKKMS.JSONValue.string) ?? .null }
        var members: [(String, CMKKMS.JSONValue)] = [
            ("blocking", .bool(report.isBlocking)),
            ("findings", .array(report.findings.map { finding in
                .object([
                    ("code", .string(finding.code.rawValue)),
                    ("severity", .string(finding.severity.rawValue)),
                    ("statement", optional(finding.statement)),
                    ("action", optional(finding.action)),
                    ("message", .string(finding.message)),
                ])
            })),
        ]
        if !report.findings.isEmpty, let statements = try? CMKKMS.JSONValue.parse(PolicyTemplate.statements(for: requirements)) {
            members.append(("statementsToAdd", statements))
        }
        return .object(members)
    }
}
