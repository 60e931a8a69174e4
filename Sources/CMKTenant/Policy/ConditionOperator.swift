/// A condition operator split into its parts: `ForAnyValue:StringLikeIfExists` is the StringLike
/// test, the any-value set qualifier and the if-exists flag.
struct ConditionOperator: Sendable {
    enum Test: Sendable, Equatable {
        case stringEquals, stringEqualsIgnoreCase, stringLike, arnLike, bool, null
        /// An operator cmkctl does not evaluate (Numeric*, Date*, IpAddress, Binary*, misspellings).
        case unsupported
    }

    enum SetQualifier: Sendable {
        case none, forAnyValue, forAllValues
    }

    let name: String
    let test: Test
    /// StringNotEquals, StringNotLike, ArnNotLike...: the test inverted, values combined with NOR.
    let isNegated: Bool
    let qualifier: SetQualifier
    let ifExists: Bool

    /// Operator names are matched case-insensitively; IAM itself rejects odd casings on save.
    init(_ name: String) {
        self.name = name
        var rest = Substring(name.lowercased())
        if rest.hasPrefix("foranyvalue:") {
            qualifier = .forAnyValue
            rest = rest.dropFirst("foranyvalue:".count)
        } else if rest.hasPrefix("forallvalues:") {
            qualifier = .forAllValues
            rest = rest.dropFirst("forallvalues:".count)
        } else {
            qualifier = .none
        }
        if rest.hasSuffix("ifexists"), rest != "null" {
            ifExists = true
            rest = rest.dropLast("ifexists".count)
        } else {
            ifExists = false
        }
        switch rest {
        case "stringequals": (test, isNegated) = (.stringEquals, false)
        case "stringnotequals": (test, isNegated) = (.stringEquals, true)
        case "stringequalsignorecase": (test, isNegated) = (.stringEqualsIgnoreCase, false)
        case "stringnotequalsignorecase": (test, isNegated) = (.stringEqualsIgnoreCase, true)
        case "stringlike": (test, isNegated) = (.stringLike, false)
        case "stringnotlike": (test, isNegated) = (.stringLike, true)
        // ArnEquals behaves as ArnLike in IAM: both accept wildcards.
        case "arnequals", "arnlike": (test, isNegated) = (.arnLike, false)
        case "arnnotequals", "arnnotlike": (test, isNegated) = (.arnLike, true)
        case "bool": (test, isNegated) = (.bool, false)
        case "null": (test, isNegated) = (.null, false)
        default: (test, isNegated) = (.unsupported, rest.contains("not"))
        }
    }

    /// Whether one request value satisfies one policy value, before negation.
    func valueMatches(request: String, policy: String) -> Bool {
        switch test {
        case .stringEquals: request == policy
        case .stringEqualsIgnoreCase: request.lowercased() == policy.lowercased()
        case .stringLike, .arnLike: WildcardPattern(policy, ignoresCase: false).matches(request)
        case .bool: request.lowercased() == policy.lowercased()
        case .null, .unsupported: false
        }
    }
}
