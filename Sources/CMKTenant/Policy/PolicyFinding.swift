/// One thing wrong with a key policy, with a stable code that callers branch on.
///
/// Decisions (the enrollment workflow waiting for the customer, CLI exit codes) read `code` and
/// `severity`, never `message`.
public struct PolicyFinding: Sendable, Equatable, Codable {
    /// Whether the finding makes our calls fail (`blocking`) or only leaves the key less protected
    /// than it should be (`warning`).
    public enum Severity: String, Sendable, Codable {
        case blocking
        case warning
    }

    /// Stable reasons; raw values appear in JSON output and in fixtures and never change once shipped.
    ///
    /// Declaration order is the order findings of one statement are reported in.
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// No Allow statement names our principal (the role, its account, or everyone).
        case principalMissing = "principal-missing"
        /// No Allow statement grants this action to our calls, for a reason other than the ones below.
        case actionMissing = "action-missing"
        /// An Allow would grant the action but for its encryption-context condition, which names
        /// another key or value than this tenant's.
        case contextConditionMismatch = "context-condition-mismatch"
        /// An Allow conditions kms:DescribeKey or kms:GetKeyPolicy on the encryption context,
        /// which those calls never carry, so it never grants them.
        case contextConditionOnMetadataAction = "context-condition-on-metadata-action"
        /// An Allow would grant the action but for its `aws:SourceVpce` condition, which does not
        /// admit every configured endpoint (or any call at all when none is configured).
        case sourceVpceMismatch = "source-vpce-mismatch"
        /// A Deny statement applies to our call for this action.
        case denyApplies = "deny-applies"
        /// A Deny with NotPrincipal does not exempt our role and its account, so it applies to us.
        case notPrincipalDeny = "not-principal-deny"
        /// A Deny with NotAction covers this action, so it applies to us.
        case notActionDeny = "not-action-deny"
        /// An Allow grants cryptographic actions to us without tying them to this tenant's
        /// encryption context, so another tenant's calls would pass too (confused deputy).
        case contextConditionMissing = "context-condition-missing"
        /// VPC endpoints are configured but an Allow grants our actions to calls from anywhere.
        case sourceVpceMissing = "source-vpce-missing"
        /// An Allow grants to every principal (`"*"`) with no condition at all.
        case publicAllow = "public-allow"
        /// An Allow that applies to us uses NotAction: everything but the listed actions.
        case notActionAllow = "not-action-allow"
        /// An Allow that applies to us uses NotPrincipal: everyone but the listed principals.
        case notPrincipalAllow = "not-principal-allow"
        /// An Allow that applies to us grants a wildcard that reaches actions cmkctl never calls.
        case actionWildcard = "action-wildcard"

        public var severity: Severity {
            switch self {
            case .principalMissing, .actionMissing, .contextConditionMismatch, .contextConditionOnMetadataAction,
                 .sourceVpceMismatch, .denyApplies, .notPrincipalDeny, .notActionDeny:
                .blocking
            case .contextConditionMissing, .sourceVpceMissing, .publicAllow, .notActionAllow, .notPrincipalAllow,
                 .actionWildcard:
                .warning
            }
        }
    }

    public let code: Code
    public let severity: Severity
    /// The statement's Sid, else `Statement[i]` (0-based); `nil` for whole-policy findings.
    public let statement: String?
    /// The action concerned, when there is one: a required action (`kms:Decrypt`) or, for
    /// `action-wildcard`, the pattern as written (`kms:Re*`).
    public let action: String?
    /// One line for people.
    public let message: String

    /// A finding whose severity follows from its code.
    public init(code: Code, statement: String?, action: String?, message: String) {
        self.code = code
        self.severity = code.severity
        self.statement = statement
        self.action = action
        self.message = message
    }

    private enum CodingKeys: String, CodingKey {
        case code, severity, statement, action, message
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(Code.self, forKey: .code)
        severity = try container.decodeIfPresent(Severity.self, forKey: .severity) ?? code.severity
        statement = try container.decodeIfPresent(String.self, forKey: .statement)
        action = try container.decodeIfPresent(String.self, forKey: .action)
        message = try container.decode(String.self, forKey: .message)
    }

    /// Encodes absent `statement` and `action` as `null`, so every finding has the same members.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(severity, forKey: .severity)
        try container.encode(statement, forKey: .statement)
        try container.encode(action, forKey: .action)
        try container.encode(message, forKey: .message)
    }
}
