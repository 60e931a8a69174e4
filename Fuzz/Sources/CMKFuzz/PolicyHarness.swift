import CMKTenant
import Foundation

/// Analyzes arbitrary text as a KMS key policy, as `policy check` and enrollment do.
///
/// Properties: a refusal is `malformedPolicy` with a readable message; a report's findings carry
/// their code's severity, come in the analyzer's order, survive a JSON round trip (the `--json`
/// output), and do not change when the same text is analyzed again.
enum PolicyHarness {
    private static let role = "arn:aws:iam::111122223333:role/cmkctl-service"
    private static let analyzers = [
        PolicyAnalyzer(requirements: PolicyRequirements(servicePrincipal: role, contextValue: "acmeprod-7f3k2q")),
        PolicyAnalyzer(requirements: PolicyRequirements(servicePrincipal: role, contextValue: "acmeprod-7f3k2q",
                                                        vpcEndpointIDs: ["vpce-0a1b2c3d4e5f60718", "vpce-1f2e3d4c5b6a70819"])),
    ]

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        for analyzer in analyzers {
            let report: PolicyReport
            do {
                report = try analyzer.analyze(policy: text)
            } catch let error as TenantError {
                require(error.code == .malformedPolicy, "policy refused with code \(error.code)")
                requireHumanMessage(error.message, "policy")
                continue
            } catch {
                require(false, "policy analysis threw a non-tenant error: \(type(of: error))")
                continue
            }
            for finding in report.findings {
                require(finding.severity == finding.code.severity, "finding \(finding.code) has severity \(finding.severity)")
                requireHumanMessage(finding.message, "finding \(finding.code)")
            }
            require(report.isBlocking == report.findings.contains { $0.severity == .blocking }, "isBlocking disagrees with the findings")
            require((try? analyzer.analyze(policy: text)) == report, "the same policy analyzed twice gives different reports")
            do {
                let encoded = try JSONEncoder().encode(report)
                let decoded = try JSONDecoder().decode(PolicyReport.self, from: encoded)
                require(decoded == report, "report changes through JSON")
            } catch {
                require(false, "report does not round-trip through JSON: \(error)")
            }
        }
    }
}
