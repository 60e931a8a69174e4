import Foundation

/// The field-by-field reader behind `DefinitionLoader`; it knows which file and state it is in, for messages.
struct DefinitionReader {
    let file: String
    let handlerNames: Set<String>
    private var stateName: String?

    init(file: String, handlerNames: Set<String>) {
        self.file = file
        self.handlerNames = handlerNames
    }

    private static let machineFields: Set<String> = ["Comment", "StartAt", "States", "TimeoutSeconds", "Version"]
    private static let allowedFields: [String: Set<String>] = [
        "Task": [
            "Type", "Comment", "Resource", "Next", "End", "InputPath", "Parameters", "ResultPath", "OutputPath",
            "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
        ],
        "Pass": ["Type", "Comment", "Next", "End", "InputPath", "Parameters", "ResultPath", "OutputPath", "Result"],
        "Choice": ["Type", "Comment", "Choices", "Default", "InputPath", "OutputPath"],
        "Wait": [
            "Type", "Comment", "Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp",
            "TimestampPath",
        ],
        "Succeed": ["Type", "Comment", "InputPath", "OutputPath"],
        "Fail": ["Type", "Comment", "Error", "Cause"],
    ]
    private static let retryFields: Set<String> = [
        "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy",
    ]
    private static let catchFields: Set<String> = ["ErrorEquals", "Next", "ResultPath"]

    func fail(_ field: String?, _ problem: String) -> WorkflowError {
        var location = file
        if let stateName { location += ": state \"\(stateName)\"" }
        if let field { location += ": field \"\(field)\"" }
        return WorkflowError(.invalidDefinition, "\(location): \(problem)")
    }

    mutating func readMachine(_ document: JSONValue, name: String) throws -> StateMachineDefinition {
        guard let members = document.objectValue else { throw fail(nil, "the document must be a JSON object") }
        for key in members.keys.sorted() where !Self.machineFields.contains(key) {
            throw fail(key, "not in the supported subset")
        }
        guard let startAt = members["StartAt"]?.stringValue else { throw fail("StartAt", "missing or not a string") }
        guard let stateMembers = members["States"]?.objectValue, !stateMembers.isEmpty else {
            throw fail("States", "missing, empty or not an object")
        }
        let timeout = try seconds(members["TimeoutSeconds"], field: "TimeoutSeconds", minimum: 1)
        var states: [String: StateDefinition] = [:]
        for (key, value) in stateMembers.sorted(by: { $0.key < $1.key }) {
            stateName = key
            states[key] = try readState(key, value)
        }
        stateName = nil
        guard states[startAt] != nil else { throw fail("StartAt", "names no state (\"\(startAt)\")") }
        try checkTargets(states)
        try checkReachability(states, startAt: startAt)
        return StateMachineDefinition(name: name, startAt: startAt, states: states, timeoutSeconds: timeout)
    }

    private mutating func readState(_ name: String, _ value: JSONValue) throws -> StateDefinition {
        guard let members = value.objectValue else { throw fail(nil, "a state must be a JSON object") }
        guard let type = members["Type"]?.stringValue else { throw fail("Type", "missing or not a string") }
        guard let allowed = Self.allowedFields[type] else {
            throw fail("Type", "\"\(type)\" is not in the supported subset (Task, Choice, Wait, Pass, Succeed, Fail)")
        }
        for key in members.keys.sorted() where !allowed.contains(key) {
            throw fail(key, "not supported on a \(type) state")
        }
        let inputPath = try payloadPath(members["InputPath"], field: "InputPath")
        let resultPath = try payloadPath(members["ResultPath"], field: "ResultPath")
        let outputPath = try payloadPath(members["OutputPath"], field: "OutputPath")
        var parameters: ParameterTemplate?
        if let template = members["Parameters"] {
            let candidate = ParameterTemplate(template)
            do { try candidate.validate() } catch let error as WorkflowError { throw fail("Parameters", error.message) }
            parameters = candidate
        }
        let next = try transition(members, type: type)
        let kind: StateKind
        switch type {
        case "Task": kind = .task(try readTask(members))
        case "Pass": kind = .pass(result: members["Result"])
        case "Choice": kind = try readChoice(members)
        case "Wait": kind = .wait(try readWait(members))
        case "Succeed": kind = .succeed
        default:
            kind = .fail(
                error: try optionalString(members["Error"], field: "Error"),
                cause: try optionalString(members["Cause"], field: "Cause"))
        }
        return StateDefinition(
            name: name, kind: kind, inputPath: inputPath, parameters: parameters, resultPath: resultPath,
            outputPath: outputPath, next: next)
    }

    /// Task, Pass and Wait need exactly one of `Next` or `End: true`; other kinds have neither.
    private func transition(_ members: JSONObject, type: String) throws -> String? {
        guard ["Task", "Pass", "Wait"].contains(type) else { return nil }
        let next = members["Next"]
        let end = members["End"]
        switch (next, end) {
        case (nil, nil): throw fail("Next", "missing: a \(type) state needs Next or \"End\": true")
        case (.some, .some): throw fail("End", "a state cannot have both Next and End")
        case (.some(let value), nil):
            guard let target = value.stringValue else { throw fail("Next", "must be a string") }
            return target
        case (nil, .some(let value)):
            guard value == .bool(true) else { throw fail("End", "must be true when present") }
            return nil
        }
    }

    private func readTask(_ members: JSONObject) throws -> TaskSpec {
        guard let resource = members["Resource"]?.stringValue else { throw fail("Resource", "missing or not a string") }
        guard resource.hasPrefix(TaskSpec.activityPrefix) else {
            throw fail("Resource", "must be an activity ARN \(TaskSpec.activityPrefix)NAME")
        }
        let handler = String(resource.dropFirst(TaskSpec.activityPrefix.count))
        guard handlerNames.contains(handler) else {
            throw fail("Resource", "no handler named \"\(handler)\" is registered")
        }
        let retry = try array(members["Retry"], field: "Retry").enumerated().map { index, entry in
            try readRetry(entry, field: "Retry[\(index)]")
        }
        let catchers = try array(members["Catch"], field: "Catch").enumerated().map { index, entry in
            try readCatch(entry, field: "Catch[\(index)]")
        }
        let timeout = try seconds(members["TimeoutSeconds"], field: "TimeoutSeconds", minimum: 1)
        var timeoutPath: JSONPath?
        if let value = members["TimeoutSecondsPath"] {
            guard timeout == nil else { throw fail("TimeoutSecondsPath", "cannot be combined with TimeoutSeconds") }
            guard let text = value.stringValue else { throw fail("TimeoutSecondsPath", "must be a path string") }
            timeoutPath = try path(text, field: "TimeoutSecondsPath")
        }
        let heartbeat = try seconds(members["HeartbeatSeconds"], field: "HeartbeatSeconds", minimum: 1)
        if let timeout, let heartbeat, heartbeat >= timeout {
            throw fail("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
        }
        return TaskSpec(
            handler: handler, timeoutSeconds: timeout, heartbeatSeconds: heartbeat, retry: retry, catchers: catchers,
            timeoutSecondsPath: timeoutPath)
    }

    private func readRetry(_ value: JSONValue, field: String) throws -> RetryRule {
        guard let members = value.objectValue else { throw fail(field, "must be an object") }
        for key in members.keys.sorted() where !Self.retryFields.contains(key) {
            throw fail("\(field).\(key)", "not in the supported subset")
        }
        let errors = try errorEquals(members["ErrorEquals"], field: "\(field).ErrorEquals")
        let interval = try seconds(members["IntervalSeconds"], field: "\(field).IntervalSeconds", minimum: 1) ?? 1
        let maxDelay = try seconds(members["MaxDelaySeconds"], field: "\(field).MaxDelaySeconds", minimum: 1)
        let maxAttempts = try integer(members["MaxAttempts"], field: "\(field).MaxAttempts", minimum: 0) ?? 3
        var backoff = 2.0
        if let value = members["BackoffRate"] {
            guard let number = value.numberValue, number.isFinite, number >= 1 else {
                throw fail("\(field).BackoffRate", "must be a number >= 1.0")
            }
            backoff = number
        }
        var jitter = RetryRule.Jitter.none
        if let value = members["JitterStrategy"] {
            guard let text = value.stringValue, let parsed = RetryRule.Jitter(rawValue: text) else {
                throw fail("\(field).JitterStrategy", "must be \"FULL\" or \"NONE\"")
            }
            jitter = parsed
        }
        return RetryRule(
            errorEquals: errors, intervalSeconds: interval, maxAttempts: maxAttempts, backoffRate: backoff,
            maxDelaySeconds: maxDelay, jitter: jitter)
    }

    private func readCatch(_ value: JSONValue, field: String) throws -> CatchRule {
        guard let members = value.objectValue else { throw fail(field, "must be an object") }
        for key in members.keys.sorted() where !Self.catchFields.contains(key) {
            throw fail("\(field).\(key)", "not in the supported subset")
        }
        let errors = try errorEquals(members["ErrorEquals"], field: "\(field).ErrorEquals")
        guard let next = members["Next"]?.stringValue else { throw fail("\(field).Next", "missing or not a string") }
        let resultPath = try payloadPath(members["ResultPath"], field: "\(field).ResultPath")
        return CatchRule(errorEquals: errors, next: next, resultPath: resultPath)
    }

    private func errorEquals(_ value: JSONValue?, field: String) throws -> [String] {
        guard case .array(let entries)? = value, !entries.isEmpty else {
            throw fail(field, "must be a non-empty array of error names")
        }
        let names = try entries.map { entry in
            guard let name = entry.stringValue, !name.isEmpty else { throw fail(field, "error names must be strings") }
            if name.hasPrefix("States.") && !StatesError.predefined.contains(name) {
                throw fail(field, "\"\(name)\" is not a supported predefined error")
            }
            return name
        }
        if names.contains(StatesError.all) && names.count > 1 {
            throw fail(field, "States.ALL must appear alone")
        }
        return names
    }

    private func readChoice(_ members: JSONObject) throws -> StateKind {
        guard case .array(let entries)? = members["Choices"], !entries.isEmpty else {
            throw fail("Choices", "must be a non-empty array")
        }
        let branches = try entries.enumerated().map { index, entry in
            let field = "Choices[\(index)]"
            guard var rule = entry.objectValue else { throw fail(field, "must be an object") }
            guard let next = rule.removeValue(forKey: "Next")?.stringValue else {
                throw fail("\(field).Next", "missing or not a string")
            }
            return ChoiceBranch(rule: try readRule(rule, field: field), next: next)
        }
        let defaultNext = try optionalString(members["Default"], field: "Default")
        return .choice(branches: branches, defaultNext: defaultNext)
    }

    private func readRule(_ members: JSONObject, field: String) throws -> ChoiceRule {
        if let combinator = ["And", "Or", "Not"].first(where: { members[$0] != nil }) {
            guard members.count == 1 else { throw fail(field, "\(combinator) must be the only member of its rule") }
            let value = members[combinator]!
            if combinator == "Not" {
                guard let inner = value.objectValue else { throw fail("\(field).Not", "must be an object") }
                return .not(try readRule(inner, field: "\(field).Not"))
            }
            guard case .array(let entries) = value, !entries.isEmpty else {
                throw fail("\(field).\(combinator)", "must be a non-empty array of rules")
            }
            let rules = try entries.enumerated().map { index, entry in
                guard let inner = entry.objectValue else { throw fail("\(field).\(combinator)[\(index)]", "must be an object") }
                return try readRule(inner, field: "\(field).\(combinator)[\(index)]")
            }
            return combinator == "And" ? .and(rules) : .or(rules)
        }
        guard let variableText = members["Variable"]?.stringValue else {
            throw fail("\(field).Variable", "missing or not a string")
        }
        let variable = try path(variableText, field: "\(field).Variable")
        let operators = members.keys.filter { $0 != "Variable" }.sorted()
        guard operators.count == 1, let name = operators.first else {
            throw fail(field, "a rule needs exactly one comparison operator, found \(operators)")
        }
        let isPath = name.hasSuffix("Path")
        let baseName = isPath ? String(name.dropLast(4)) : name
        guard let comparison = ChoiceRule.Comparison(rawValue: baseName) else {
            throw fail("\(field).\(name)", "not a supported comparison operator")
        }
        let operandValue = members[name]!
        if isPath {
            guard comparison != .isPresent && comparison != .isNull, let text = operandValue.stringValue else {
                throw fail("\(field).\(name)", "not a supported comparison operator or not a path string")
            }
            return .compare(variable: variable, comparison: comparison, operand: .path(try path(text, field: "\(field).\(name)")))
        }
        let typeIsRight: Bool
        switch comparison {
        case .stringEquals: typeIsRight = operandValue.stringValue != nil
        case .booleanEquals, .isPresent, .isNull: typeIsRight = operandValue.boolValue != nil
        default: typeIsRight = operandValue.numberValue != nil
        }
        guard typeIsRight else { throw fail("\(field).\(name)", "operand has the wrong JSON type") }
        return .compare(variable: variable, comparison: comparison, operand: .literal(operandValue))
    }

    private func readWait(_ members: JSONObject) throws -> WaitDuration {
        let present = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"].filter { members[$0] != nil }
        guard present.count == 1, let field = present.first else {
            throw fail("Seconds", "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
        }
        let value = members[field]!
        switch field {
        case "Seconds":
            guard let seconds = try seconds(value, field: field, minimum: 0) else { throw fail(field, "must be an integer") }
            return .seconds(seconds)
        case "Timestamp":
            guard let text = value.stringValue, let date = WaitDuration.parseTimestamp(text) else {
                throw fail(field, "must be an ISO 8601 timestamp such as 2026-01-01T00:00:00Z")
            }
            return .timestamp(date)
        default:
            guard let text = value.stringValue else { throw fail(field, "must be a path string") }
            let parsed = try path(text, field: field)
            return field == "SecondsPath" ? .secondsPath(parsed) : .timestampPath(parsed)
        }
    }

    private func payloadPath(_ value: JSONValue?, field: String) throws -> PayloadPath {
        guard let value else { return .root }
        if value == .null { return .discard }
        guard let text = value.stringValue else { throw fail(field, "must be a path string or null") }
        return .path(try path(text, field: field))
    }

    private func path(_ text: String, field: String) throws -> JSONPath {
        do { return try JSONPath(parsing: text) } catch let error as WorkflowError { throw fail(field, error.message) }
    }

    /// The largest count or number of seconds Step Functions accepts in a definition.
    static let largestInteger = 99_999_999

    /// A seconds field: Amazon States Language takes whole seconds only (`IntervalSeconds: 0.2` is refused
    /// by Step Functions), so a definition valid here is valid there.
    private func seconds(_ value: JSONValue?, field: String, minimum: Int) throws -> Double? {
        try integer(value, field: field, minimum: minimum).map(Double.init)
    }

    private func integer(_ value: JSONValue?, field: String, minimum: Int) throws -> Int? {
        guard let value else { return nil }
        let expected = minimum == 0 ? "a non-negative integer" : "an integer >= \(minimum)"
        guard let number = value.numberValue, number.isFinite, number.rounded() == number,
              number >= Double(minimum), number <= Double(Self.largestInteger)
        else { throw fail(field, "must be \(expected) (at most \(Self.largestInteger))") }
        return Int(number)
    }

    private func optionalString(_ value: JSONValue?, field: String) throws -> String? {
        guard let value else { return nil }
        guard let text = value.stringValue else { throw fail(field, "must be a string") }
        return text
    }

    private func array(_ value: JSONValue?, field: String) throws -> [JSONValue] {
        guard let value else { return [] }
        guard case .array(let entries) = value else { throw fail(field, "must be an array") }
        return entries
    }

    private func targets(of state: StateDefinition) -> [(field: String, target: String)] {
        var found: [(String, String)] = []
        if let next = state.next { found.append(("Next", next)) }
        switch state.kind {
        case .choice(let branches, let defaultNext):
            for (index, branch) in branches.enumerated() { found.append(("Choices[\(index)].Next", branch.next)) }
            if let defaultNext { found.append(("Default", defaultNext)) }
        case .task(let spec):
            for (index, catcher) in spec.catchers.enumerated() { found.append(("Catch[\(index)].Next", catcher.next)) }
        default: break
        }
        return found
    }

    private mutating func checkTargets(_ states: [String: StateDefinition]) throws {
        for name in states.keys.sorted() {
            stateName = name
            for (field, target) in targets(of: states[name]!) where states[target] == nil {
                throw fail(field, "names no state (\"\(target)\")")
            }
        }
        stateName = nil
    }

    private mutating func checkReachability(_ states: [String: StateDefinition], startAt: String) throws {
        var reached: Set<String> = [startAt]
        var pending = [startAt]
        while let name = pending.popLast() {
            for (_, target) in targets(of: states[name]!) where !reached.contains(target) {
                reached.insert(target)
                pending.append(target)
            }
        }
        if let unreachable = states.keys.sorted().first(where: { !reached.contains($0) }) {
            stateName = unreachable
            throw fail(nil, "unreachable from StartAt")
        }
    }
}
