/// A `Parameters` (or `Result`-like) template whose `"key.$": "$.path"` members are filled from the input.
public struct ParameterTemplate: Sendable, Hashable {
    public let template: JSONValue

    public init(_ template: JSONValue) {
        self.template = template
    }

    /// Checks at load time that every `.$` member holds a supported path, so run time cannot fail on syntax.
    public func validate() throws {
        _ = try Self.resolve(template, input: nil)
    }

    /// Builds the effective input; a `.$` path that finds nothing is a run-time error (States.Runtime).
    public func render(input: JSONValue) throws -> JSONValue {
        try Self.resolve(template, input: input)
    }

    private static func resolve(_ value: JSONValue, input: JSONValue?) throws -> JSONValue {
        switch value {
        case .object(let members):
            var rendered: JSONObject = [:]
            for (key, member) in members {
                if key.hasSuffix(".$") {
                    let name = String(key.dropLast(2))
                    guard case .string(let pathText) = member else {
                        throw WorkflowError(.invalidJSON, "Parameters member \"\(key)\" must be a path string")
                    }
                    let path = try JSONPath(parsing: pathText)
                    guard let input else {
                        rendered[name] = .null
                        continue
                    }
                    guard let found = path.read(from: input) else {
                        throw WorkflowError(.invalidJSON, "Parameters member \"\(key)\": \(path) not found in input")
                    }
                    rendered[name] = found
                } else {
                    rendered[key] = try resolve(member, input: input)
                }
            }
            return .object(rendered)
        case .array(let elements):
            return .array(try elements.map { try resolve($0, input: input) })
        default:
            return value
        }
    }
}
