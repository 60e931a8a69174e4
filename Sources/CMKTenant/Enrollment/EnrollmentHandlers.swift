import CMKEnvelope
import CMKKMS
import CMKWorkflow
import Foundation

/// The task handlers of `Workflows/enroll.asl.json`, registered by activity name.
///
/// Steps that only touch the store are transactional (exactly once, committed with the step).
/// Steps that call KMS are detached (at-least-once); their store writes are idempotent and their
/// KMS calls read-only or harmless to repeat, and every call lands in the audit trail.
///
/// Generic over the store backend: the transactional handlers receive the backend's transaction and
/// write through `repository` in it.
public struct EnrollmentHandlers<Repository: TenantRepository>: Sendable {
    public let repository: Repository
    public let configuration: OperatorConfiguration
    public let kms: TenantKMS
    /// Starts the re-encryption the hand-over leads to; nil in a worker that runs no re-encryption
    /// (the step then fails, retried, until a worker that does takes the execution).
    public let reencryption: ReencryptionService<Repository>?
    public let notifier: OperatorNotifier
    public let now: @Sendable () -> Date

    public init(repository: Repository, configuration: OperatorConfiguration, kms: TenantKMS,
                reencryption: ReencryptionService<Repository>? = nil, notifier: OperatorNotifier = .disabled,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = repository
        self.configuration = configuration
        self.kms = kms
        self.reencryption = reencryption
        self.notifier = notifier
        self.now = now
    }

    public func register(into registry: inout HandlerRegistry<Repository.Transaction>) {
        let configuration = configuration, now = now, repository = repository
        registry.register("tenant-register", .transactional { context, transaction in
            let input = try EnrollmentInput(context.input)
            try await repository.register(tenant: input.tenant, ticket: input.ticket, tag: input.tag,
                                          execution: context.request.execution, providerKey: configuration.providerKey,
                                          cause: input.cause(context), now: now(), in: transaction)
            return .succeeded(["tenant": .string(input.tenant)])
        })
        registry.register("tenant-assign-context", .transactional { context, transaction in
            let input = try EnrollmentInput(context.input)
            let cause = input.cause(context)
            try await repository.apply(.contextAssignmentStarted, tenant: input.tenant, waitingFor: nil, cause: cause, now: now(),
                                       in: transaction)
            let tag = input.tag
            let value = try await repository.assignContext(tenant: input.tenant, candidate: {
                var generator = SystemRandomNumberGenerator()
                return ContextIdentifier.generate(tag: tag, using: &generator)
            }, cause: cause, now: now(), in: transaction)
            return .succeeded(["key": .string(configuration.contextKey), "value": .string(value)])
        })
        registry.register("tenant-verify-policy", .detached { context in
            try await verifyPolicies(context)
        })
        registry.register("tenant-probe-keys", .detached { context in
            try await probeKeys(context)
        })
        registry.register("tenant-await-customer", .transactional { context, transaction in
            let input = try EnrollmentInput(context.input)
            let waitingFor = context.input["check"]?["waitingFor"]?.stringValue ?? "the customer"
            _ = try await repository.addWaitingRound(tenant: input.tenant, in: transaction)
            if input.rotation {
                // A rotation's tenant stays active on its current keys while the customer fixes the new ones.
                try await AuditLog.append(repository, in: transaction, tenant: input.tenant, kind: .transition,
                                          action: "rotation awaiting customer", detail: ["waitingFor": waitingFor],
                                          cause: input.cause(context), at: now())
            } else {
                try await repository.apply(.customerActionNeeded, tenant: input.tenant, waitingFor: waitingFor,
                                           cause: input.cause(context), now: now(), in: transaction)
            }
            return .parked
        })
        registry.register("tenant-notify-awaiting", .detached { [notifier] context in
            let input = try EnrollmentInput(context.input)
            let rounds = try await repository.read { transaction in try await repository.waitingRounds(tenant: input.tenant, in: transaction) }
            // Once per wait: the re-check rounds after the first are the same request to the customer.
            guard rounds == 0 else { return .succeeded(["sent": false, "reason": "told on the first round"]) }
            let waitingFor = context.input["check"]?["waitingFor"]?.stringValue ?? "the customer"
            let data: JSONObject = ["waitingFor": .string(waitingFor), "ticket": .string(input.ticket),
                                    "kind": .string(input.rotation ? "rotation" : "enrollment")]
            let id = "\(context.request.execution)/\(OperatorNotifier.Notice.awaitingCustomer.rawValue)"
            switch try await notifier.deliver(.awaitingCustomer, id: id, tenant: input.tenant, data: data, at: now()) {
            case .delivered(let status): return .succeeded(["sent": true, "status": .number(Double(status)), "id": .string(id)])
            case .notConfigured: return .succeeded(["sent": false, "reason": "no notifications in the operator configuration"])
            }
        })
        registry.register("tenant-record-generation", .transactional { context, transaction in
            let input = try EnrollmentInput(context.input)
            let generations = try await repository.generations(of: input.tenant, in: transaction)
            let current = generations.map(\.number).max() ?? 0
            // A generation already holding exactly these keys is this step's own, recorded before.
            let number = generations.first(where: { !$0.providerManaged && $0.keys == input.keys })?.number ?? current + 1
            try await repository.recordGeneration(tenant: input.tenant, number: number, keys: input.keys, cause: input.cause(context),
                                                  now: now(), in: transaction)
            return .succeeded(["number": .number(Double(number))])
        })
        registry.register("tenant-hand-over", .transactional { context, transaction in
            let input = try EnrollmentInput(context.input)
            guard let record = try await repository.tenant(input.tenant, in: transaction) else {
                throw TaskFailure(error: EnrollmentWorkflow.ErrorName.tenantNotReady.rawValue, cause: "tenant \(input.tenant) is not registered")
            }
            // From here the new generation is current: new writes use it, and the re-encryption moves the rest.
            try await repository.resetWaitingRounds(tenant: input.tenant, in: transaction)
            try await repository.apply(input.rotation ? .rotationStarted : .handedOver, tenant: input.tenant,
                                       waitingFor: ReencryptionHandlers<Repository>.waiting(record.generation),
                                       cause: input.cause(context), now: now(), in: transaction)
            if !input.rotation {
                // The claim records how its enrollment ended, in the step that ends it.
                try await repository.recordEnrollmentOutcome(.succeeded, tenant: input.tenant, execution: context.request.execution,
                                                             in: transaction)
            }
            return .succeeded(["generation": .number(Double(record.generation))])
        })
        registry.register("tenant-start-reencryption", .detached { [reencryption] context in
            let input = try EnrollmentInput(context.input)
            guard let reencryption else {
                throw TaskFailure(error: EnrollmentWorkflow.ErrorName.tenantNotReady.rawValue,
                                  cause: "this worker runs no re-encryption workflow; a worker that does continues the hand-over")
            }
            let started = try await reencryption.start(tenant: input.tenant, cause: Cause(ticket: input.ticket, operatorName: input.operatorName))
            return .succeeded(["execution": .string(started.execution)])
        })
        registry.register("tenant-activate", .transactional { context, transaction in
            let input = try EnrollmentInput(context.input)
            try await repository.resetWaitingRounds(tenant: input.tenant, in: transaction)
            try await repository.apply(.reencryptionCompleted, tenant: input.tenant, waitingFor: nil, cause: input.cause(context),
                                       now: now(), in: transaction)
            // The claim records how its enrollment ended, in the step that ends it.
            try await repository.recordEnrollmentOutcome(.succeeded, tenant: input.tenant, execution: context.request.execution,
                                                         in: transaction)
            return .succeeded(["state": .string(TenantState.active.rawValue)])
        })
        registry.register("tenant-mark-failed", .transactional { context, transaction in
            let input = try EnrollmentInput(context.input)
            let error = context.input["failure"]?["Error"]?.stringValue ?? "unknown"
            let cause = context.input["failure"]?["Cause"]?.stringValue ?? ""
            // A failure recorded after the tenant moved on (or before it existed) changes nothing.
            if let record = try await repository.tenant(input.tenant, in: transaction), record.lifecycle.accepts(.enrollmentFailed) {
                let reason = "a new ticket: the enrollment failed (\(error): \(cause.prefix(300)))"
                try await repository.apply(.enrollmentFailed, tenant: input.tenant, waitingFor: reason, cause: input.cause(context),
                                           now: now(), detail: ["error": error, "cause": String(cause.prefix(500))], in: transaction)
            }
            try await repository.recordEnrollmentOutcome(.failed, tenant: input.tenant, execution: context.request.execution,
                                                         in: transaction)
            return .succeeded(["error": .string(error)])
        })
    }

    // MARK: KMS steps

    /// Reads and analyses every key's policy; blocking findings send the workflow to the customer.
    func verifyPolicies(_ context: TaskContext) async throws -> TaskOutcome {
        let input = try EnrollmentInput(context.input)
        let cause = input.cause(context)
        let identifier = try await contextIdentifier(input)
        // Every KMS read first, the tenant's state after: when our own setup fails (no credentials,
        // no local KMS file) or KMS is out, nothing about the keys is known and the state must not
        // suggest otherwise.
        let clients = try input.keys.map { key in
            try kmsStep("KMS client for \(key.keyARN)") {
                AuditedKMSClient(try kms.client(forKey: key.keyARN), repository: repository, tenant: input.tenant, cause: cause, now: now)
            }
        }
        var documents: [String?] = []
        var problems: [String] = []
        for (key, client) in zip(input.keys, clients) {
            do {
                documents.append(try await client.getKeyPolicy(keyID: key.keyARN))
            } catch let error as KMSError where error.failureClass == .revocation {
                documents.append(nil)
                problems.append("the key policy of \(key.keyARN) cannot be read (\(error.code.name)): allow kms:GetKeyPolicy to \(configuration.servicePrincipal)")
            } catch let error as KMSError {
                throw Self.taskFailure(error, "GetKeyPolicy \(key.keyARN)")
            }
        }
        try await apply(.policyVerificationStarted, tenant: input.tenant, cause: cause, rotation: input.rotation)
        let requirements = PolicyRequirements(servicePrincipal: configuration.servicePrincipal, contextKey: configuration.contextKey,
                                              contextValue: identifier, vpcEndpointIDs: configuration.vpcEndpointIDs)
        let analyzer = PolicyAnalyzer(requirements: requirements)
        var warnings = 0
        for (key, fetched) in zip(input.keys, documents) {
            guard let document = fetched else { continue }
            let report: PolicyReport
            do {
                report = try analyzer.analyze(policy: document)
            } catch let error as TenantError {
                problems.append("the key policy of \(key.keyARN) is malformed: \(error.message)")
                continue
            }
            let reportText = try AuditLog.canonicalJSON(report)
            let check = PolicyCheck(tenant: input.tenant, keyARN: key.keyARN, checkedAt: now(), blocking: report.isBlocking,
                                    report: reportText)
            try await repository.write { [repository] transaction in try await repository.savePolicyCheck(check, in: transaction) }
            warnings += report.findings.filter { $0.severity == .warning }.count
            let blocking = report.findings.filter { $0.severity == .blocking }
            if !blocking.isEmpty {
                let codes = blocking.map { finding in finding.action.map { "\(finding.code.rawValue) \($0)" } ?? finding.code.rawValue }
                problems.append("fix the key policy of \(key.keyARN): \(codes.joined(separator: ", "))")
            }
        }
        return try await checkResult(stage: "policy", problems: problems, tenant: input.tenant, extra: ["warnings": .number(Double(warnings))])
    }

    /// Probes every key with the tenant's context and acts on the verdict's failure class: a
    /// revocation (or an unsuitable key) is the customer's to fix, a transient failure is retried,
    /// a misconfiguration is the operator's and leaves the tenant as it is.
    func probeKeys(_ context: TaskContext) async throws -> TaskOutcome {
        let input = try EnrollmentInput(context.input)
        let cause = input.cause(context)
        let identifier = try await contextIdentifier(input)
        let clients = try input.keys.map { key in
            try kmsStep("KMS client for \(key.keyARN)") {
                AuditedKMSClient(try kms.client(forKey: key.keyARN), repository: repository, tenant: input.tenant, cause: cause, now: now)
            }
        }
        let encryptionContext = try EncryptionContext([(configuration.contextKey, identifier)])
        var results: [ProbeResult] = []
        for (key, client) in zip(input.keys, clients) {
            results.append(await KeyProbe(client: client).probe(keyID: key.keyARN, context: encryptionContext))
        }
        // The worst verdict decides, before the tenant moves: a misconfiguration anywhere means no
        // verdict about the customer's keys can be trusted.
        let worst = ProbeReport(results: results).verdict
        if let failureClass = worst.failureClass, failureClass != .revocation {
            let failed = results.first { $0.verdict == worst }
            let step = failed?.steps.first { !$0.passed }
            let what = "probe of \(failed?.keyID ?? "?"): \(worst.rawValue) at \(step?.name ?? "?"): \(step?.detail ?? "")"
            throw TaskFailure(error: Self.errorName(failureClass), cause: what)
        }
        try await apply(.probeStarted, tenant: input.tenant, cause: cause, rotation: input.rotation)
        var problems: [String] = []
        var regions: [JSONValue] = []
        for (key, result) in zip(input.keys, results) {
            if result.verdict == .ok {
                regions.append(.string(key.region))
            } else {
                let step = result.steps.first(where: { !$0.passed })
                problems.append("key \(key.keyARN) failed the probe (\(result.verdict.rawValue) at \(step?.name ?? "?"): \(step?.detail ?? ""))")
            }
        }
        return try await checkResult(stage: "probe", problems: problems, tenant: input.tenant, extra: ["regions": .array(regions)])
    }

    /// The ASL error a KMS failure class gives a step: `KMS.Unavailable` (transient) and
    /// `KMS.Misconfigured` (the operator's setup) are retried by the definition and leave the tenant
    /// as it is; a revocation never comes here (it is the customer's, sent to AwaitCustomer).
    static func errorName(_ failureClass: KMSError.FailureClass) -> String {
        switch failureClass {
        case .transient: EnrollmentWorkflow.ErrorName.kmsUnavailable.rawValue
        case .misconfiguration: EnrollmentWorkflow.ErrorName.kmsMisconfigured.rawValue
        case .revocation: EnrollmentWorkflow.ErrorName.kmsRevoked.rawValue
        }
    }

    static func taskFailure(_ error: KMSError, _ what: String) -> TaskFailure {
        TaskFailure(error: errorName(error.failureClass), cause: "\(what): \(error.code.name): \(error.message)")
    }

    /// Runs a step's KMS setup, turning a `KMSError` into the step failure its class calls for.
    private func kmsStep<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as KMSError {
            throw Self.taskFailure(error, what)
        }
    }

    /// `{ok, stage, waitingFor, recheckSeconds}`: the Choice after the step reads `ok`; the customer
    /// wait reads the other two.
    private func checkResult(stage: String, problems: [String], tenant: String,
                             extra: JSONObject) async throws -> TaskOutcome {
        var result = extra
        result["ok"] = .bool(problems.isEmpty)
        result["stage"] = .string(stage)
        if !problems.isEmpty {
            let rounds = try await repository.read { [repository] transaction in
                try await repository.waitingRounds(tenant: tenant, in: transaction)
            }
            result["waitingFor"] = .string(problems.joined(separator: "; "))
            result["recheckSeconds"] = .number(configuration.recheckDelay(round: rounds + 1))
        }
        return .succeeded(.object(result))
    }

    private func apply(_ event: TenantLifecycle.Event, tenant: String, cause: Cause, rotation: Bool = false) async throws {
        // A rotation's tenant stays active while the new keys are checked.
        if rotation { return }
        let at = now()
        _ = try await repository.write { [repository] transaction in
            try await repository.apply(event, tenant: tenant, waitingFor: nil, cause: cause, now: at, in: transaction)
        }
    }

    private func contextIdentifier(_ input: EnrollmentInput) async throws -> String {
        guard let record = try await repository.tenant(input.tenant), let identifier = record.contextIdentifier else {
            throw TaskFailure(error: EnrollmentWorkflow.ErrorName.tenantNotReady.rawValue, cause: "tenant \(input.tenant) has no context identifier yet")
        }
        return identifier
    }
}
