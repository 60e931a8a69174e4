import ArgumentParser
import CMKEnvelope
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
        Checks a document (--policy FILE, or - for stdin), or with --tenant and no --policy the live \
        policies of the tenant's keys, read with GetKeyPolicy (the calls go to the tenant's audit trail). \
        Prints one line per finding (severity, code, statement, action, message) and a summary. \
        Blocking findings make cmkctl's calls fail; warnings leave the key less protected than it \
        should be. Codes are listed in docs/policy.md.
        Exit codes: 0 nothing blocking, 2 blocking findings, 65 malformed policy, 66 unreadable file, \
        67 unknown tenant, 69 a key policy could not be read.
        """
    )

    /// Exit status when the policy would refuse some of our calls.
    static let blockingExitCode = CLIExit.awaitingCustomer.rawValue

    @Option(name: .customLong("policy"), help: ArgumentHelp("The key policy document (JSON); - reads standard input. Without it, --tenant checks the tenant's keys live.", valueName: "file"))
    var policyFile: String?

    @OptionGroup var options: PolicyRequirementsOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard policyFile != nil || options.tenant != nil else { throw ValidationError("give --policy FILE, or --tenant ID to check its keys' live policies") }
    }

    func run() async throws {
        var reports: [(key: String?, report: PolicyReport)] = []
        var requirements: PolicyRequirements?
        (requirements, reports) = try await options.withTenantStore { store in
            let resolved = try await options.requirements(store: store?.repository)
            let analyzer = PolicyAnalyzer(requirements: resolved)
            if let policyFile {
                do {
                    return (resolved, [(nil, try analyzer.analyze(policy: try readPolicy(policyFile)))])
                } catch let error as TenantError where error.code == .malformedPolicy {
                    throw CommandFailure(status: .dataError, message: "\(policyFile == "-" ? "standard input" : policyFile): \(error.message)")
                }
            }
            guard let store else { return (resolved, []) }
            return (resolved, try await liveReports(analyzer, store: store))
        }
        guard let requirements else { return }
        if output.json {
            if reports.count == 1, reports[0].key == nil {
                print(Self.json(reports[0].report, requirements: requirements).prettyText)
            } else {
                let keyed: [JSONValue] = reports.map { entry in
                    ["key": .string(entry.key ?? ""), "report": Self.json(entry.report, requirements: requirements)]
                }
                print(JSONValue.array(keyed).prettyText)
            }
        } else {
            for entry in reports {
                if let key = entry.key { print("key \(key.escapingControlCharacters)") }
                for finding in entry.report.findings { print(Self.line(finding)) }
                print(Self.summary(entry.report))
            }
        }
        if reports.contains(where: { $0.report.isBlocking }) { throw ExitCode(Self.blockingExitCode) }
    }

    /// Reads the policy of every key the tenant is enrolled with (or enrolling), through the audited client.
    private func liveReports<Store: StoreBackend>(_ analyzer: PolicyAnalyzer, store backend: Store) async throws -> [(key: String?, report: PolicyReport)] {
        guard let tenant = options.tenant else { return [] }
        let store = backend.repository
        guard let status = try await TenantOverview(journal: backend.journal, repository: store).status(tenant: tenant).first else {
            throw TenantError(.unknownTenant, "no tenant \(tenant) in \(options.storeOptions.locationDescription)")
        }
        let keys = status.enrollingKeys.isEmpty ? status.keys : status.enrollingKeys
        guard status.generation > 0 || !status.enrollingKeys.isEmpty else {
            throw TenantError(.unknownTenant, "tenant \(tenant) has no keys of its own yet")
        }
        let configuration = try options.configuration()
        let cause = Cause(ticket: nil, operatorName: defaultOperatorName(), event: "policy check")
        return try await TenantKMS.withClients(configuration: configuration) { kms in
            var reports: [(key: String?, report: PolicyReport)] = []
            for key in keys {
                let client = AuditedKMSClient(try kms.client(forKey: key), repository: store, tenant: tenant, cause: cause)
                let policy = try await client.getKeyPolicy(keyID: key)
                do {
                    reports.append((key, try analyzer.analyze(policy: policy)))
                } catch let error as TenantError where error.code == .malformedPolicy {
                    // Too large (over 32 KB) or not of the policy shape: bad data, as for a file.
                    throw CommandFailure(status: .dataError, message: "the key policy of \(key): \(error.message)")
                }
            }
            return reports
        }
    }

    private func readPolicy(_ policyFile: String) throws -> String {
        guard let data = try BoundedInput.read(policyFile, limit: KeyPolicyLimit.maxBytes) else {
            throw CommandFailure(status: .dataError, message: "\(policyFile == "-" ? "standard input" : policyFile): \(KeyPolicyLimit.overLimit)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(status: .dataError, message: "\(policyFile): not UTF-8 text")
        }
        return text
    }

    /// `blocking action-missing Statement[1] kms:Decrypt: message`; absent parts are left out.
    static func line(_ finding: PolicyFinding) -> String {
        let parts = [finding.severity.rawValue, finding.code.rawValue, finding.statement, finding.action].compactMap { $0 }
        // Statement ids and messages quote the customer's policy text: escaped, one finding per line.
        return (parts.joined(separator: " ") + ": " + finding.message).escapingControlCharacters
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
    static func json(_ report: PolicyReport, requirements: PolicyRequirements) -> JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        var members: JSONObject = [
            "blocking": .bool(report.isBlocking),
            "findings": .array(report.findings.map { finding in
                [
                    "code": .string(finding.code.rawValue),
                    "severity": .string(finding.severity.rawValue),
                    "statement": optional(finding.statement),
                    "action": optional(finding.action),
                    "message": .string(finding.message),
                ]
            }),
        ]
        if !report.findings.isEmpty, let statements = try? JSONValue(parsing: PolicyTemplate.statements(for: requirements)) {
            members["statementsToAdd"] = statements
        }
        return .object(members)
    }
}
