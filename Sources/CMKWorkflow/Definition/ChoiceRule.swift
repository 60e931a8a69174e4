/// A Choice rule: a comparison of the value at `Variable`, or a boolean combination of rules.
public indirect enum ChoiceRule: Sendable {
    case and([ChoiceRule])
    case or([ChoiceRule])
    case not(ChoiceRule)
    case compare(variable: JSONPath, comparison: Comparison, operand: Operand)

    /// The comparisons in the supported subset; `...Path` variants use `Operand.path`.
    public enum Comparison: String, Sendable, CaseIterable {
        case stringEquals = "StringEquals"
        case numericEquals = "NumericEquals"
        case numericLessThan = "NumericLessThan"
        case numericGreaterThan = "NumericGreaterThan"
        case numericLessThanEquals = "NumericLessThanEquals"
        case numericGreaterThanEquals = "NumericGreaterThanEquals"
        case booleanEquals = "BooleanEquals"
        case isPresent = "IsPresent"
        case isNull = "IsNull"
    }

    /// The right-hand side: a literal, or (for `...Path` operators) a path into the same input.
    public enum Operand: Sendable {
        case literal(JSONValue)
        case path(JSONPath)
    }

    /// Whether the rule holds for `input`; a missing variable or a type mismatch makes a comparison false.
    public func matches(_ input: JSONValue) -> Bool {
        switch self {
        case .and(let rules): return rules.allSatisfy { $0.matches(input) }
        case .or(let rules): return rules.contains { $0.matches(input) }
        case .not(let rule): return !rule.matches(input)
        case .compare(let variable, let comparison, let operand):
            let value = variable.read(from: input)
            let expected: JSONValue?
            switch operand {
            case .literal(let literal): expected = literal
            case .path(let path): expected = path.read(from: input)
            }
            return Self.compare(value, comparison, expected)
        }
    }

    private static func compare(_ value: JSONValue?, _ comparison: Comparison, _ expected: JSONValue?) -> Bool {
        switch comparison {
        case .isPresent:
            return (value != nil) == (expected?.boolValue ?? true)
        case .isNull:
            return (value == .null) == (expected?.boolValue ?? true)
        case .stringEquals:
            guard let left = value?.stringValue, let right = expected?.stringValue else { return false }
            return left == right
        case .booleanEquals:
            guard let left = value?.boolValue, let right = expected?.boolValue else { return false }
            return left == right
        case .numericEquals, .numericLessThan, .numericGreaterThan, .numericLessThanEquals,
            .numericGreaterThanEquals:
            guard let left = value?.numberValue, let right = expected?.numberValue else { return false }
            switch comparison {
            case .numericEquals: return left == right
            case .numericLessThan: return left < right
            case .numericGreaterThan: return left > right
            case .numericLessThanEquals: return left <= right
            default: return left >= right
            }
        }
    }
}
