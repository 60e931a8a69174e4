/// One operator-key pair of a Condition block with its values, e.g.
/// `"StringEquals": {"kms:EncryptionContext:cmk-tenant": ["a", "b"]}`.
struct ConditionClause: Sendable {
    let op: ConditionOperator
    /// The condition key as the policy spells it (names compare case-insensitively).
    let key: String
    /// Policy values as strings: JSON `true` and `"true"` are the same to IAM.
    let values: [String]

    var isEncryptionContextKey: Bool {
        let name = key.lowercased()
        return name.hasPrefix("kms:encryptioncontext:") || name == "kms:encryptioncontextkeys"
    }

    var isSourceVpceKey: Bool { key.lowercased() == "aws:sourcevpce" }

    /// Evaluates the clause with IAM's rules: several values combine with OR (NOR when negated);
    /// a key missing from the request fails the test, except that negated tests, `...IfExists`,
    /// `ForAllValues:` and `Null` hold then.
    func evaluate(in request: PolicyRequest) -> ConditionOutcome {
        // Policy variables (${aws:username}) resolve to values cmkctl cannot know.
        if op.test == .unsupported || values.contains(where: { $0.contains("${") }) { return .undecided(keys: [key]) }
        let holds: Bool
        switch request.value(of: key) {
        case .unknown:
            return .undecided(keys: [key])
        case .absent:
            if op.test == .null {
                holds = values.contains { $0.lowercased() == "true" }
            } else if op.ifExists || op.qualifier == .forAllValues {
                holds = true
            } else if op.qualifier == .forAnyValue {
                holds = false
            } else {
                holds = op.isNegated
            }
        case .present(let requestValues):
            if op.test == .null {
                holds = values.contains { $0.lowercased() == "false" }
            } else {
                let matched = { (value: String) in values.contains { op.valueMatches(request: value, policy: $0) } }
                switch (op.qualifier, op.isNegated) {
                case (.forAllValues, false): holds = requestValues.allSatisfy(matched)
                case (.forAllValues, true): holds = requestValues.allSatisfy { !matched($0) }
                // A single-valued key is a set of one, where plain and ForAnyValue agree.
                case (_, false): holds = requestValues.contains(where: matched)
                case (_, true): holds = requestValues.contains { !matched($0) }
                }
            }
        }
        return holds ? .holds : .fails(key: key)
    }
}
