/// What probing one key found: each call with its latency, and a verdict.
public struct ProbeResult: Sendable {
    public struct Step: Sendable {
        public let name: String
        /// `nil` when the step passed.
        public let failure: ProbeVerdict?
        public let code: KMSError.Code?
        public let latency: Duration?
        public let detail: String

        public var passed: Bool { failure == nil }

        public init(name: String, failure: ProbeVerdict?, code: KMSError.Code?, latency: Duration?, detail: String) {
            self.name = name
            self.failure = failure
            self.code = code
            self.latency = latency
            self.detail = detail
        }
    }

    public let keyID: String
    public let region: String
    public let metadata: KeyMetadata?
    public let steps: [Step]

    public init(keyID: String, region: String, metadata: KeyMetadata?, steps: [Step]) {
        self.keyID = keyID
        self.region = region
        self.metadata = metadata
        self.steps = steps
    }

    /// The worst verdict of the steps; ok when all passed.
    public var verdict: ProbeVerdict { steps.compactMap(\.failure).max() ?? .ok }
}

extension ProbeResult {
    /// The stable `--json` form: field names and verdict strings are an interface for scripts.
    public var json: JSONValue {
        var members: JSONObject = [
            "key": .string(keyID),
            "region": .string(region),
            "verdict": .string(verdict.rawValue),
            "class": verdict.failureClass.map { .string($0.rawValue) } ?? .null,
        ]
        if let metadata {
            members["arn"] = .string(metadata.arn)
            members["state"] = .string(metadata.stateName)
            members["keySpec"] = .string(metadata.keySpec)
            members["keyUsage"] = .string(metadata.keyUsage)
        }
        members["steps"] = .array(steps.map { step in
            [
                "name": .string(step.name),
                "ok": .bool(step.passed),
                "verdict": step.failure.map { .string($0.rawValue) } ?? .null,
                "class": step.failure?.failureClass.map { .string($0.rawValue) } ?? .null,
                "code": step.code.map { .string($0.name) } ?? .null,
                "latencyMs": step.latency.map { .number($0.reportMilliseconds) } ?? .null,
                "detail": .string(step.detail),
            ]
        })
        return .object(members)
    }
}
