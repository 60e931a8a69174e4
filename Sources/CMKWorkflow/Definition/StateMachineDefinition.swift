/// A loaded, validated state machine: every `Next` names a state, every state is reachable, every task's handler exists.
public struct StateMachineDefinition: Sendable {
    /// The workflow's name: the file name without `.asl.json`; executions refer to it.
    public let name: String
    public let startAt: String
    public let states: [String: StateDefinition]
    /// Whole-execution limit; an execution still running after it ends with `States.Timeout`.
    public let timeoutSeconds: Double?

    public init(name: String, startAt: String, states: [String: StateDefinition], timeoutSeconds: Double?) {
        self.name = name
        self.startAt = startAt
        self.states = states
        self.timeoutSeconds = timeoutSeconds
    }

    /// The state called `name`; the loader guarantees that every name the engine follows exists.
    public func state(_ name: String) throws -> StateDefinition {
        guard let state = states[name] else {
            throw WorkflowError(.workflowNotLoaded, "workflow \(self.name) has no state \"\(name)\"")
        }
        return state
    }
}
