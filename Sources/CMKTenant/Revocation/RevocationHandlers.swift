import CMKEnvelope
import CMKKMS
import CMKWorkflow
import Foundation

/// The task handlers of `Workflows/revocation.asl.json`.
///
/// The probe is detached (it calls KMS; at-least-once, its calls audited); the steps that move the
/// tenant are transactional, so a suspension or a reinstatement commits exactly once with its step,
/// and the change feed carries it to every process.
public struct RevocationHandlers<Repository: TenantRepository>: Sendable {
    public let repository: Repository
    public let configuration: OperatorConfiguration
    public let kms: TenantKMS
    public let notifier: OperatorNotifier
    public let now: @Sendable () -> Date

    public init(repository: Repository, configuration: OperatorConfiguration, kms: TenantKMS, notifier: OperatorNotifier = .disabled,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = repository
        self.configuration = configuration
        self.kms = kms
        self.notifier = notifier
        self.now = now
    }

    public func register(into registry: inout HandlerRegistry<Repository.Transaction>) {
        let repository = repository, now = now, notifier = notifier
        registry.register("revocation-probe", .detached { context in
            try await probe(context)
        })
        registry.register("revocation-notify", .detached { context in
            let (tenant, trigger) = try Self.input(context)
            guard let name = context.input["outcome"]?["notice"]?.stringValue, let notice = OperatorNotifier.Notice(rawValue: name) else {
                return .succeeded(["sent": false, "reason": "nothing to tell"])
            }
            var data: JSONObject = ["state": .string(notice == .suspended ? TenantState.suspended.rawValue : TenantState.active.rawValue),
                                    "trigger": .string("\(trigger.kind.rawValue) \(trigger.id)")]
            if let evidence = context.input["probe"]?["evidence"] { data["evidence"] = evidence }
            if let eventTime = trigger.eventTime { data["eventTime"] = .string(AuditLog.timestamp(eventTime)) }
            // The same id on every attempt of this step: the receiver drops repeats.
            let id = "\(context.request.execution)/\(notice.rawValue)"
            switch try await notifier.deliver(notice, id: id, tenant: tenant, data: data, at: now()) {
            case .delivered(let status): return .succeeded(["sent": true, "status": .number(Double(status)), "id": .string(id)])
            case .notConfigured: return .succeeded(["sent": false, "reason": "no notifications in the operator configuration"])
            }
        })
        registry.register("revocation-notice-undelivered", .transactional { context, transaction in
            let (tenant, trigger) = try Self.input(context)
            let notice = context.input["outcome"]?["notice"]?.stringValue ?? "?"
            let cause = context.input["noticeFailure"]?["Cause"]?.stringValue ?? ""
            try await AuditLog.append(repository, in: transaction, tenant: tenant, kind: .check, action: "notice undelivered",
                                      detail: ["notice": notice, "cause": String(cause.prefix(500))], cause: Self.cause(context, trigger), at: now())
            return .succeeded(["notice": .string(notice)])
        })
        registry.register("revocation-suspend", .transactional { context, transaction in
            let (tenant, trigger) = try Self.input(context)
            guard let record = try await repository.tenant(tenant, in: transaction), record.lifecycle.accepts(.revocationConfirmed) else {
                return .succeeded(["suspended": false, "reason": "the tenant is no longer in a state a revocation applies to"])
            }
            // Another check (a sweep, an earlier event) suspended it already, and told the operator.
            guard record.state != .suspended else {
                return .succeeded(["suspended": false, "reason": "the tenant was suspended already"])
            }
            var detail: [String: String] = ["trigger": "\(trigger.kind.rawValue) \(trigger.id)"]
            if case .object(let evidence)? = context.input["probe"]?["evidence"] {
                for (key, value) in evidence {
                    detail[key] = value.stringValue ?? value.numberValue.map { String($0) } ?? "\(value)"
                }
            }
            let suspendedAt = now()
            detail["suspendedAt"] = AuditLog.timestamp(suspendedAt)
            if let eventTime = trigger.eventTime { detail["eventTime"] = AuditLog.timestamp(eventTime) }
            let reason = "the customer's key answered \(detail["verdict"] ?? "a revocation") (\(detail["key"] ?? "?")): cmkctl confirmed it by its own probe"
            try await repository.apply(.revocationConfirmed, tenant: tenant, waitingFor: reason,
                                       cause: Self.cause(context, trigger), now: suspendedAt, detail: detail, in: transaction)
            return .succeeded(["suspended": true, "notice": .string(OperatorNotifier.Notice.suspended.rawValue)])
        })
        registry.register("revocation-reinstate", .transactional { context, transaction in
            let (tenant, trigger) = try Self.input(context)
            guard let record = try await repository.tenant(tenant, in: transaction), record.state == .suspended else {
                return .succeeded(["reinstated": false])
            }
            // A re-encryption the suspension paused is unfinished: the tenant returns to it, and its sweep resumes.
            let unfinished = try await repository.reencryptions(tenant: tenant, in: transaction).contains { $0.isOpen && $0.target == record.generation }
            try await repository.apply(unfinished ? .reinstatedToReencryption : .reinstated, tenant: tenant,
                                       waitingFor: unfinished ? ReencryptionHandlers<Repository>.waiting(record.generation) : nil,
                                       cause: Self.cause(context, trigger), now: now(),
                                       detail: ["trigger": "\(trigger.kind.rawValue) \(trigger.id)", "probe": "every key of the current generation passed"],
                                       in: transaction)
            return .succeeded(["reinstated": true, "notice": .string(OperatorNotifier.Notice.reinstated.rawValue)])
        })
        registry.register("revocation-close", .transactional { context, transaction in
            let (tenant, trigger) = try Self.input(context)
            let verdict = context.input["probe"]?["verdict"]?.stringValue ?? "passed"
            let reason = context.input["probe"]?["reason"]?.stringValue ?? "every key of the current generation passed"
            try await AuditLog.append(repository, in: transaction, tenant: tenant, kind: .check, action: "revocation check closed",
                                      detail: ["trigger": "\(trigger.kind.rawValue) \(trigger.id)", "verdict": verdict, "reason": reason],
                                      cause: Self.cause(context, trigger), at: now())
            return .succeeded(["closed": .string(verdict)])
        })
        registry.register("revocation-unconfirmed", .transactional { context, transaction in
            let (tenant, trigger) = try Self.input(context)
            let error = context.input["failure"]?["Error"]?.stringValue ?? "unknown"
            let cause = context.input["failure"]?["Cause"]?.stringValue ?? ""
            try await AuditLog.append(repository, in: transaction, tenant: tenant, kind: .check, action: "revocation check unconfirmed",
                                      detail: ["trigger": "\(trigger.kind.rawValue) \(trigger.id)", "error": error, "cause": String(cause.prefix(500))],
                                      cause: Self.cause(context, trigger), at: now())
            return .succeeded(["error": .string(error)])
        })
    }

    // MARK: The probe

    /// Probes every key of the tenant's current generation with its context, and says what the
    /// definition does next. Only a revocation-class verdict can lead to a suspension; a transient
    /// or misconfiguration verdict fails the step (retried, the tenant untouched).
    func probe(_ context: TaskContext) async throws -> TaskOutcome {
        let (tenant, trigger) = try Self.input(context)
        let reprobed = context.input["reprobed"]?.boolValue ?? false
        let repository = repository
        let (found, generations, ledger) = try await repository.read { transaction in
            (try await repository.tenant(tenant, in: transaction), try await repository.generations(of: tenant, in: transaction),
             try await repository.ledger(tenant: tenant, in: transaction))
        }
        func skipped(_ reason: String) -> TaskOutcome {
            .succeeded(["verdict": "skipped", "next": "close", "reason": .string(reason)])
        }
        guard let record = found else { return skipped("the tenant is not registered") }
        guard record.state != .offboarded else { return skipped("the tenant is offboarded") }
        guard let identifier = record.contextIdentifier,
              let current = generations.first(where: { $0.number == record.generation }), !current.keys.isEmpty else {
            return skipped("the tenant has no keys of its own yet")
        }
        // The provider's own key is the operator's: its failure is never the tenant's revocation.
        guard !current.providerManaged else { return skipped("the tenant is on the provider's key (generation \(current.number))") }

        let cause = Self.cause(context, trigger)
        let encryptionContext = try EncryptionContext([(configuration.contextKey, identifier)])
        // The current generation, and every older one (the tenant's own, not retired) the ledger still
        // counts items under: revoking such a key makes that data unreadable just the same.
        let holding = Set(ledger.filter { $0.items > 0 }.map(\.generation))
        var probed: [(generation: Int, key: KeyGeneration.RegionalKey)] = current.keys.map { (current.number, $0) }
        for older in generations where older.number != current.number && !older.providerManaged && older.retiredAt == nil
            && holding.contains(older.number) {
            probed += older.keys.map { (older.number, $0) }
        }
        var results: [(key: KeyGeneration.RegionalKey, generation: Int, result: ProbeResult)] = []
        for (generation, key) in probed {
            let client: any KMSClient
            do {
                client = AuditedKMSClient(try kms.client(forKey: key.keyARN), repository: repository, tenant: tenant, cause: cause, now: now)
            } catch let error as KMSError {
                throw EnrollmentHandlers<Repository>.taskFailure(error, "KMS client for \(key.keyARN)")
            }
            results.append((key, generation, await KeyProbe(client: client).probe(keyID: key.keyARN, context: encryptionContext)))
        }
        let worst = ProbeReport(results: results.map(\.result)).verdict
        let probedAt = now()
        switch worst.failureClass {
        case .transient?, .misconfiguration?:
            let failed = results.first { $0.result.verdict == worst }
            let step = failed?.result.steps.first { !$0.passed }
            throw TaskFailure(error: EnrollmentHandlers<Repository>.errorName(worst.failureClass!),
                              cause: "probe of \(failed?.key.keyARN ?? "?"): \(worst.rawValue) at \(step?.name ?? "?"): \(step?.detail ?? "")")
        case .revocation?:
            let failed = results.first { $0.result.verdict == worst }!
            let step = failed.result.steps.first { !$0.passed }
            let evidence: JSONObject = [
                "key": .string(failed.key.keyARN), "region": .string(failed.key.region), "generation": .string(String(failed.generation)),
                "verdict": .string(worst.rawValue), "class": .string(KMSError.FailureClass.revocation.rawValue),
                "kmsCode": .string(step?.code?.name ?? worst.rawValue), "step": .string(step?.name ?? "?"),
                "probedAt": .string(AuditLog.timestamp(probedAt)),
            ]
            return .succeeded(["verdict": "revoked", "next": "suspend", "evidence": .object(evidence)])
        case nil:
            let next = record.state == .suspended ? "reinstate" : (trigger.kind == .event && !reprobed ? "reprobe" : "close")
            return .succeeded(["verdict": "passed", "next": .string(next), "probedAt": .string(AuditLog.timestamp(probedAt))])
        }
    }

    static func input(_ context: TaskContext) throws -> (tenant: String, trigger: RevocationTrigger) {
        guard let tenant = context.input["tenant"]?.stringValue, let trigger = context.input["trigger"] else {
            throw TaskFailure(error: RevocationWorkflow.ErrorName.badInput.rawValue, cause: "the revocation input lacks its tenant or trigger")
        }
        return (tenant, try RevocationTrigger(trigger))
    }

    static func cause(_ context: TaskContext, _ trigger: RevocationTrigger) -> Cause {
        Cause(operatorName: "cmkctl revocation check", event: "\(trigger.kind.rawValue) \(trigger.id)", execution: context.idempotencyKey)
    }
}
