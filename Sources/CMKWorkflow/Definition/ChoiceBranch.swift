/// One entry of a Choice state's `Choices`: a rule and the state to go to when it matches.
public struct ChoiceBranch: Sendable {
    public let rule: ChoiceRule
    public let next: String

    public init(rule: ChoiceRule, next: String) {
        self.rule = rule
        self.next = next
    }
}
