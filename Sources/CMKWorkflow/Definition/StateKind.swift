/// What a state does; the supported subset of ASL's state types.
public enum StateKind: Sendable {
    case task(TaskSpec)
    case choice(branches: [ChoiceBranch], defaultNext: String?)
    case wait(WaitDuration)
    /// `Result`, when present, replaces the effective input as the state's result.
    case pass(result: JSONValue?)
    case succeed
    case fail(error: String?, cause: String?)

    /// The ASL `Type` name, for messages and history.
    public var typeName: String {
        switch self {
        case .task: "Task"
        case .choice: "Choice"
        case .wait: "Wait"
        case .pass: "Pass"
        case .succeed: "Succeed"
        case .fail: "Fail"
        }
    }
}
