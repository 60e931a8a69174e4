import CMKKMS

/// A key policy document parsed into statements, or a `malformedPolicy` error naming the statement
/// and field that is wrong.
///
/// Parsing is stricter than the analysis needs where IAM itself would refuse the document (an
/// unknown Effect, both Action and NotAction), so a typo is reported rather than silently ignored.
struct PolicyDocument: Sendable {
    let statements: [PolicyStatement]

    init(parsing text: String) throws {
        if let excess = KeyPolicyLimit.excess(byteCount: text.utf8.count) {
            throw TenantError(.malformedPolicy, excess)
        }
        let root: JSONValue
        do {
            root = try JSONValue(parsing: text, limits: .shallow)
        } catch let error as JSONError {
            throw TenantError(.malformedPolicy, "the policy is not JSON: \(error.message)")
        }
        guard root.objectValue != nil else { throw TenantError(.malformedPolicy, "the policy is not a JSON object") }
        let list: [JSONValue]
        switch root["Statement"] {
        case nil: throw TenantError(.malformedPolicy, "the policy has no Statement")
        case .array(let items)?: list = items
        case .object(let members)?: list = [.object(members)]
        case _?: throw TenantError(.malformedPolicy, "Statement must be an object or a list of objects")
        }
        statements = try list.enumerated().map { try Self.statement($0.element, index: $0.offset) }
    }

    private static func statement(_ value: JSONValue, index: Int) throws -> PolicyStatement {
        let position = "Statement[\(index)]"
        guard value.objectValue != nil else { throw TenantError(.malformedPolicy, "\(position) is not an object") }
        var label = position
        switch value["Sid"] {
        case nil: break
        case .string(let sid)?: if !sid.isEmpty { label = sid }
        case _?: throw TenantError(.malformedPolicy, "\(position): Sid must be a string")
        }
        func fail(_ field: String, _ problem: String) -> TenantError {
            TenantError(.malformedPolicy, "\(label == position ? position : "\(position) (\(label))"): \(field) \(problem)")
        }

        guard let effectValue = value["Effect"] else { throw fail("Effect", "is missing") }
        guard let effectText = effectValue.stringValue, let effect = PolicyStatement.Effect(rawValue: effectText) else {
            throw fail("Effect", "must be \"Allow\" or \"Deny\", not \(effectValue.jsonText)")
        }

        let actions: PolicyStatement.Actions
        switch (value["Action"], value["NotAction"]) {
        case (_?, _?): throw fail("Action", "and NotAction are both present; a statement has one")
        case (nil, nil): throw fail("Action", "is missing (neither Action nor NotAction)")
        case (let listed?, nil): actions = .listed(try strings(listed, orFail: fail("Action", "must be a string or a list of strings")).map { WildcardPattern($0, ignoresCase: true) })
        case (nil, let excepted?): actions = .allExcept(try strings(excepted, orFail: fail("NotAction", "must be a string or a list of strings")).map { WildcardPattern($0, ignoresCase: true) })
        }

        let principal: PolicyPrincipal
        switch (value["Principal"], value["NotPrincipal"]) {
        case (_?, _?): throw fail("Principal", "and NotPrincipal are both present; a statement has one")
        case (nil, nil): throw fail("Principal", "is missing (a key policy statement needs Principal or NotPrincipal)")
        case (let named?, nil): principal = .named(try principalEntries(named, orFail: fail("Principal", "must be \"*\" or an object such as {\"AWS\": ARN}")))
        case (nil, let excepted?): principal = .allExcept(try principalEntries(excepted, orFail: fail("NotPrincipal", "must be \"*\" or an object such as {\"AWS\": ARN}")))
        }

        var conditions: [ConditionClause] = []
        if let block = value["Condition"] {
            guard let operators = block.objectValue else { throw fail("Condition", "must be an object of operators") }
            for (name, keys) in operators {
                guard let pairs = keys.objectValue else { throw fail("Condition", "\(name) must map condition keys to values") }
                for (key, values) in pairs {
                    let problem = fail("Condition", "\(name) \(key) must be a string, boolean, number or a list of them")
                    conditions.append(ConditionClause(op: ConditionOperator(name), key: key, values: try conditionValues(values, orFail: problem)))
                }
            }
        }
        return PolicyStatement(index: index, label: label, effect: effect, principal: principal, actions: actions, conditions: conditions)
    }

    /// A string or a list of strings, the shape of Action, NotAction and principal lists.
    private static func strings(_ value: JSONValue, orFail error: TenantError) throws -> [String] {
        switch value {
        case .string(let one): return [one]
        case .array(let items):
            return try items.map { item in
                guard let text = item.stringValue else { throw error }
                return text
            }
        default: throw error
        }
    }

    /// `"*"`, or an object whose `AWS` member lists ARNs or account ids; other principal types
    /// (Service, Federated, CanonicalUser) are checked for shape but never name our role.
    private static func principalEntries(_ value: JSONValue, orFail error: TenantError) throws -> [String] {
        switch value {
        case .string("*"): return ["*"]
        case .object(let members):
            var entries: [String] = []
            for (type, list) in members {
                let listed = try strings(list, orFail: error)
                if type == "AWS" { entries += listed }
            }
            return entries
        default: throw error
        }
    }

    private static func conditionValues(_ value: JSONValue, orFail error: TenantError) throws -> [String] {
        func scalar(_ value: JSONValue) throws -> String {
            switch value {
            case .string(let text): return text
            case .bool(let flag): return flag ? "true" : "false"
            case .number: return value.jsonText
            default: throw error
            }
        }
        if case .array(let items) = value { return try items.map(scalar) }
        return [try scalar(value)]
    }
}
