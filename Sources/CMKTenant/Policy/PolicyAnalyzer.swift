import CMKEnvelope
import CMKJSON

/// Judges a KMS key policy against the calls cmkctl makes for one tenant: which calls it would
/// refuse (blocking findings) and where it protects the key less than it should (warnings).
///
/// Pure: the policy text in, a report out; no KMS call, no clock. The live probe is the second
/// half of "verify key policy" and catches what static analysis cannot (SCPs, grants, key state).
public struct PolicyAnalyzer: Sendable {
    public let requirements: PolicyRequirements
    private let identity: ServiceIdentity

    public init(requirements: PolicyRequirements) {
        self.requirements = requirements
        self.identity = ServiceIdentity(arn: requirements.servicePrincipal)
    }

    /// Analyzes a key policy document as GetKeyPolicy returns it.
    ///
    /// - Throws: `TenantError(.malformedPolicy)` naming the statement and field, when the text is
    ///   not JSON of the IAM policy shape.
    public func analyze(policy: String) throws -> PolicyReport {
        let document = try PolicyDocument(parsing: policy)
        var findings = FindingList()
        let ours = document.statements.filter { $0.effect == .allow && $0.principal.allowCovers(identity) }
        if ours.isEmpty {
            // Every action is then missing; one finding says it better than seven.
            findings.add(.principalMissing, nil, nil,
                         "no Allow statement names \(identity.arn), its account or \"*\"")
        } else {
            for call in KMSCall.allCases { checkGrant(of: call, by: ours, into: &findings) }
        }
        for statement in document.statements where statement.effect == .deny {
            checkDeny(statement, into: &findings)
        }
        for statement in ours { checkStrength(of: statement, into: &findings) }
        return PolicyReport(findings: findings.sorted())
    }

    // MARK: - Requests

    /// The requests a call arrives as: one per configured VPC endpoint (a grant must admit each,
    /// since any may carry the call), or one without `aws:SourceVpce`.
    private func requests(for call: KMSCall) -> [PolicyRequest] {
        if requirements.vpcEndpointIDs.isEmpty {
            return [PolicyRequest(call: call, identity: identity, requirements: requirements, sourceVpce: nil)]
        }
        return requirements.vpcEndpointIDs.map {
            PolicyRequest(call: call, identity: identity, requirements: requirements, sourceVpce: $0)
        }
    }

    private func grants(_ statement: PolicyStatement, _ requests: [PolicyRequest],
                        ignoring: (ConditionClause) -> Bool = { _ in false }) -> Bool {
        guard let call = requests.first?.call, statement.covers(call) else { return false }
        return requests.allSatisfy { statement.conditionOutcome(for: $0, ignoring: ignoring) == .holds }
    }

    // MARK: - Blocking: grants

    private func checkGrant(of call: KMSCall, by ours: [PolicyStatement], into findings: inout FindingList) {
        let requests = requests(for: call)
        if ours.contains(where: { grants($0, requests) }) { return }

        var explained = false
        var reasons: [String] = []
        for statement in ours where statement.covers(call) {
            if grants(statement, requests, ignoring: \.isEncryptionContextKey) {
                let key = failingKey(of: statement, requests) ?? "kms:EncryptionContext"
                if call.carriesContext {
                    findings.add(.contextConditionMismatch, statement, call,
                                 "\(statement.label) grants \(call.action) only under a condition on \(key) that our calls (\(contextText)) do not meet")
                } else {
                    findings.add(.contextConditionOnMetadataAction, statement, call,
                                 "\(statement.label) conditions \(call.action) on \(key), but \(call.action) carries no encryption context; grant it in a statement without that condition")
                }
                explained = true
            } else if grants(statement, requests, ignoring: \.isSourceVpceKey) {
                findings.add(.sourceVpceMismatch, statement, call,
                             "\(statement.label) grants \(call.action) only under an aws:SourceVpce condition that \(vpceText(refusedBy: statement, requests)) do not meet")
                explained = true
            } else {
                reasons.append(reason(statement, requests))
            }
        }
        if !explained {
            let why = reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")
            findings.add(.actionMissing, nil, call, "no Allow statement grants \(call.action) to \(identity.arn)\(why)")
        }
    }

    private var contextText: String {
        "\(JSONValue.string(requirements.contextKey).jsonText): \(JSONValue.string(requirements.contextValue).jsonText)"
    }

    /// The first condition key that is false for one of our requests.
    private func failingKey(of statement: PolicyStatement, _ requests: [PolicyRequest]) -> String? {
        for request in requests {
            if case .fails(let key) = statement.conditionOutcome(for: request) { return key }
        }
        return nil
    }

    private func vpceText(refusedBy statement: PolicyStatement, _ requests: [PolicyRequest]) -> String {
        if requirements.vpcEndpointIDs.isEmpty { return "our calls (through no VPC endpoint)" }
        let refused = requests.filter { statement.conditionOutcome(for: $0) != .holds }.compactMap(\.sourceVpce)
        return "calls through " + refused.joined(separator: ", ")
    }

    /// Why a statement that covers the action and names us does not grant it.
    private func reason(_ statement: PolicyStatement, _ requests: [PolicyRequest]) -> String {
        for request in requests {
            switch statement.conditionOutcome(for: request) {
            case .holds: continue
            case .fails(let key):
                return "\(statement.label) requires a condition on \(key) that our calls do not meet"
            case .undecided(let keys):
                return "\(statement.label) has a condition on \(keys.joined(separator: ", ")) that cmkctl cannot evaluate, assumed not to hold"
            }
        }
        return "\(statement.label) does not apply"
    }

    // MARK: - Blocking: denies

    private func checkDeny(_ statement: PolicyStatement, into findings: inout FindingList) {
        guard statement.principal.denyCovers(identity) else { return }
        for call in KMSCall.allCases where statement.covers(call) {
            let outcomes = requests(for: call).map { statement.conditionOutcome(for: $0) }
            guard let outcome = outcomes.first(where: { if case .fails = $0 { false } else { true } }) else { continue }
            var note = ""
            switch outcome {
            case .undecided(let keys):
                note = " (cmkctl cannot evaluate its condition on \(keys.joined(separator: ", ")) and assumes it holds)"
            case .holds where !statement.conditions.isEmpty:
                note = " (its conditions hold for our calls)"
            default:
                break
            }
            if statement.principal.isNotPrincipal {
                let detail = statement.principal.listsRoleWithoutAccount(identity)
                    ? "lists \(identity.arn) but not its account, which AWS may evaluate first"
                    : "does not exempt \(identity.arn)"
                findings.add(.notPrincipalDeny, statement, call,
                             "\(statement.label) denies \(call.action) to everyone outside its NotPrincipal, which \(detail)\(note)")
            } else if statement.isNotAction {
                findings.add(.notActionDeny, statement, call,
                             "\(statement.label) denies every action outside its NotAction, which does not list \(call.action)\(note)")
            } else {
                findings.add(.denyApplies, statement, call, "\(statement.label) denies \(call.action) to \(identity.arn)\(note)")
            }
        }
    }

    // MARK: - Warnings

    private func checkStrength(of statement: PolicyStatement, into findings: inout FindingList) {
        if statement.principal.isEveryone && statement.conditions.isEmpty {
            findings.add(.publicAllow, statement, nil, "\(statement.label) allows every principal in every AWS account, without a condition")
        }
        if statement.principal.isNotPrincipal {
            findings.add(.notPrincipalAllow, statement, nil, "\(statement.label) allows everyone outside its NotPrincipal; name the principals instead")
        }
        if statement.isNotAction {
            findings.add(.notActionAllow, statement, nil, "\(statement.label) allows every action outside its NotAction; list the actions instead")
        }
        for pattern in statement.wildcardActions where KMSActionCatalog.reachesBeyondOurCalls(pattern) {
            findings.add(.actionWildcard, statement, pattern.text,
                         "\(statement.label) allows \(pattern.text), which reaches actions cmkctl never calls; list the actions it needs")
        }

        // Would the statement grant as well to a call carrying another tenant's context?
        let unbound = KMSCall.cryptographic.filter { call in
            let ours = requests(for: call)
            let otherTenant = ours.map { request in
                var other = request
                other.context = (requirements.contextKey, Self.otherTenantValue)
                return other
            }
            return grants(statement, ours) && grants(statement, otherTenant)
        }
        if !unbound.isEmpty {
            findings.add(.contextConditionMissing, statement, nil,
                         "\(statement.label) allows \(unbound.map(\.action).joined(separator: ", ")) without requiring the encryption context \(contextText)")
        }

        // Would it grant as well to a call from outside the configured endpoints?
        if !requirements.vpcEndpointIDs.isEmpty {
            let open = KMSCall.allCases.filter { call in
                let ours = requests(for: call)
                guard grants(statement, ours) else { return false }
                return [nil, Self.foreignEndpoint].contains { endpoint in
                    grants(statement, ours.map { request in
                        var outside = request
                        outside.sourceVpce = endpoint
                        return outside
                    })
                }
            }
            if !open.isEmpty {
                findings.add(.sourceVpceMissing, statement, nil,
                             "\(statement.label) allows \(open.map(\.action).joined(separator: ", ")) without an aws:SourceVpce condition naming \(requirements.vpcEndpointIDs.joined(separator: ", "))")
            }
        }
    }

    /// Stand-ins for "another tenant" and "another network path" when testing how tight a grant is.
    private static let otherTenantValue = "another-tenant-0000"
    private static let foreignEndpoint = "vpce-0000000000000000f"
}
