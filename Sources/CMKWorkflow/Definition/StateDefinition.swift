/// One state of a machine: its kind-specific behaviour plus the payload paths every kind shares.
public struct StateDefinition: Sendable {
    public let name: String
    public let kind: StateKind
    public let inputPath: PayloadPath
    public let parameters: ParameterTemplate?
    public let resultPath: PayloadPath
    public let outputPath: PayloadPath
    /// The following state, or nil when the state ends the execution (`End: true`, Succeed, Fail, Choice).
    public let next: String?

    public init(
        name: String, kind: StateKind, inputPath: PayloadPath = .root, parameters: ParameterTemplate? = nil,
        resultPath: PayloadPath = .root, outputPath: PayloadPath = .root, next: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.inputPath = inputPath
        self.parameters = parameters
        self.resultPath = resultPath
        self.outputPath = outputPath
        self.next = next
    }

    /// InputPath then Parameters: what a task handler, a Pass or a Choice sees.
    public func effectiveInput(from rawInput: JSONValue) throws -> JSONValue {
        var selected: JSONValue
        switch inputPath {
        case .discard: selected = .object([:])
        case .path(let path):
            guard let found = path.read(from: rawInput) else {
                throw WorkflowError(.invalidJSON, "state \"\(name)\": InputPath \(path) not found in input")
            }
            selected = found
        }
        if let parameters {
            selected = try parameters.render(input: selected)
        }
        return selected
    }

    /// ResultPath then OutputPath: what the next state receives.
    public func output(rawInput: JSONValue, result: JSONValue) throws -> JSONValue {
        try applyOutputPath(try Self.place(result, at: resultPath, in: rawInput))
    }

    /// OutputPath alone, for kinds without a result (Choice, Wait, Succeed).
    public func applyOutputPath(_ value: JSONValue) throws -> JSONValue {
        switch outputPath {
        case .discard: return .object([:])
        case .path(let path):
            guard let found = path.read(from: value) else {
                throw WorkflowError(.invalidJSON, "state \"\(name)\": OutputPath \(path) not found")
            }
            return found
        }
    }

    /// Places a result (or a caught error) into the raw input the way `ResultPath` says.
    static func place(_ result: JSONValue, at resultPath: PayloadPath, in rawInput: JSONValue) throws -> JSONValue {
        switch resultPath {
        case .discard: return rawInput
        case .path(let path): return try path.write(result, into: rawInput)
        }
    }
}
