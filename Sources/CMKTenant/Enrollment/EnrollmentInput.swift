import CMKKMS
import CMKWorkflow

/// The execution input of an enrollment, as `cmkctl enroll` starts it.
struct EnrollmentInput {
    let ticket: String
    let tenant: String
    let tag: ContextTag
    let keys: [KeyGeneration.RegionalKey]
    let operatorName: String?
    /// A rotation of an active tenant's keys (`cmkctl rotate`): the tenant stays active until the hand-over.
    let rotation: Bool

    init(_ value: JSONValue) throws {
        guard let ticket = value["ticket"]?.stringValue, let tenant = value["tenant"]?.stringValue,
              let tag = value["tag"]?.stringValue, case .array(let keys)? = value["keys"] else {
            throw TaskFailure(error: EnrollmentWorkflow.ErrorName.badInput.rawValue, cause: "the enrollment input lacks ticket, tenant, tag or keys")
        }
        self.ticket = ticket
        self.tenant = tenant
        self.tag = try ContextTag(tag)
        // The journaled input is read back like any stored value: each key must still be a key ARN
        // in the region it is filed under, or the step fails before any client is made.
        self.keys = try keys.map { key in
            guard let region = key["region"]?.stringValue, let text = key["arn"]?.stringValue,
                  let arn = try? KeyARN(validating: text), arn.region == region else {
                throw TaskFailure(error: EnrollmentWorkflow.ErrorName.badInput.rawValue, cause: "the enrollment input holds a key that is not a key ARN in its region")
            }
            return KeyGeneration.RegionalKey(region: region, keyARN: arn.description)
        }
        operatorName = value["operator"]?.stringValue
        rotation = value["rotation"]?.boolValue ?? false
    }

    static func json(_ request: EnrollmentRequest) -> JSONValue {
        .object([
            "ticket": .string(request.ticket),
            "tenant": .string(request.tenant),
            "tag": .string(request.tag.value),
            "operator": .string(request.operatorName),
            "keys": .array(request.keys.map { .object(["region": .string($0.region), "arn": .string($0.keyARN)]) }),
        ])
    }

    /// The step's cause: the ticket and operator, the step, and what resumed a wait for the customer
    /// (their signal, or the re-check timer).
    func cause(_ context: TaskContext) -> Cause {
        var event: String?
        if let resumed = context.input["customer"] {
            event = resumed["Error"]?.stringValue == StatesError.timeout ? "re-check timer" : "customer signal"
        }
        return Cause(ticket: ticket, operatorName: operatorName, event: event, execution: context.idempotencyKey)
    }
}
