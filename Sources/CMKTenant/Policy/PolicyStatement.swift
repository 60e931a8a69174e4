/// One statement of a key policy, with the shapes IAM allows (string or list, Action or
/// NotAction, Principal or NotPrincipal) already reduced to one form each.
///
/// Resource and NotResource are not kept: in a key policy they can only mean the key itself.
struct PolicyStatement: Sendable {
    enum Effect: String, Sendable {
        case allow = "Allow"
        case deny = "Deny"
    }

    enum Actions: Sendable {
        /// `Action`: the listed patterns.
        case listed([WildcardPattern])
        /// `NotAction`: everything but the listed patterns.
        case allExcept([WildcardPattern])
    }

    /// Position in the Statement list (0 for a single statement object).
    let index: Int
    /// The Sid, else `Statement[i]`: how findings and errors name the statement.
    let label: String
    let effect: Effect
    let principal: PolicyPrincipal
    let actions: Actions
    /// All must hold (AND); empty when there is no Condition block.
    let conditions: [ConditionClause]

    func covers(_ call: KMSCall) -> Bool {
        switch actions {
        case .listed(let patterns): patterns.contains { $0.matches(call.action) }
        case .allExcept(let patterns): !patterns.contains { $0.matches(call.action) }
        }
    }

    var isNotAction: Bool {
        if case .allExcept = actions { return true }
        return false
    }

    /// The Action entries with `*` or `?`, in document order.
    var wildcardActions: [WildcardPattern] {
        guard case .listed(let patterns) = actions else { return [] }
        return patterns.filter(\.hasWildcard)
    }

    /// The conditions for `request`, skipping clauses `ignoring` selects: used to ask "would this
    /// grant but for its encryption-context condition?".
    func conditionOutcome(for request: PolicyRequest, ignoring: (ConditionClause) -> Bool = { _ in false }) -> ConditionOutcome {
        ConditionOutcome.all(conditions.filter { !ignoring($0) }.map { $0.evaluate(in: request) })
    }
}
