/// Whether a statement's conditions hold for a request, in three values: cmkctl cannot evaluate
/// every key and operator, and says so instead of guessing.
enum ConditionOutcome: Sendable, Equatable {
    case holds
    /// Some condition is false; `key` is the first such condition key as the policy spells it.
    case fails(key: String)
    /// Nothing is false, but the conditions on these keys could not be evaluated.
    case undecided(keys: [String])

    /// Conditions combine with AND: one false makes all false, else one undecided makes all undecided.
    static func all(_ outcomes: [ConditionOutcome]) -> ConditionOutcome {
        var undecided: [String] = []
        for outcome in outcomes {
            switch outcome {
            case .holds: continue
            case .fails: return outcome
            case .undecided(let keys): undecided += keys.filter { !undecided.contains($0) }
            }
        }
        return undecided.isEmpty ? .holds : .undecided(keys: undecided)
    }
}
