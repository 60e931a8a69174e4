import CMKEnvelope
import CMKKMS
import CMKWorkflow
import Foundation

/// The task handlers of `Workflows/reencrypt.asl.json`.
///
/// Counting and moving pages call KMS and write foreign data sources, so they are detached
/// (at-least-once): a repeated page is harmless, since every write is a compare-and-swap against
/// the bytes read and an item already moved reads as current. The page's cursor and counters are
/// the step's result, journaled with it. The steps that change the tenant are transactional.
public struct ReencryptionHandlers<Repository: TenantRepository>: Sendable {
    /// Opens a configured data source (the process knows the database libraries; CMKTenant does not).
    public typealias SourceOpener = @Sendable (DataSourceConfiguration) async throws -> any DataSource

    public let repository: Repository
    public let configuration: OperatorConfiguration
    public let kms: TenantKMS
    public let crypto: TenantCrypto<Repository>
    public let openSource: SourceOpener
    public let notifier: OperatorNotifier
    public let now: @Sendable () -> Date
    /// Waits out the KMS call budget of a page; tests pass one that records instead of sleeping.
    public let pace: @Sendable (Double) async throws -> Void

    public init(repository: Repository, configuration: OperatorConfiguration, kms: TenantKMS, crypto: TenantCrypto<Repository>,
                openSource: @escaping SourceOpener, notifier: OperatorNotifier = .disabled,
                now: @escaping @Sendable () -> Date = { Date() },
                pace: @escaping @Sendable (Double) async throws -> Void = { seconds in try await Task.sleep(for: .seconds(seconds)) }) {
        self.repository = repository
        self.configuration = configuration
        self.kms = kms
        self.crypto = crypto
        self.openSource = openSource
        self.notifier = notifier
        self.now = now
        self.pace = pace
    }

    public func register(into registry: inout HandlerRegistry<Repository.Transaction>) {
        let repository = repository, now = now, notifier = notifier
        registry.register("reencrypt-begin", .transactional { context, transaction in
            let input = try Input(context.input)
            guard let record = try await repository.tenant(input.tenant, in: transaction) else {
                throw TaskFailure(error: ReencryptionWorkflow.ErrorName.badInput.rawValue, cause: "tenant \(input.tenant) is not registered")
            }
            // `cmkctl reencrypt` of an active tenant (items left behind, data restored): backups wait too.
            if record.state == .active {
                try await repository.apply(.reencryptionStarted, tenant: input.tenant, waitingFor: Self.waiting(input.target),
                                           cause: input.cause(context), now: now(), in: transaction)
            }
            try await Self.update(repository, input, context: context, status: .running, at: now(), in: transaction) { _ in }
            return .succeeded(["state": .string(record.state.rawValue)])
        })
        registry.register("reencrypt-count", .detached { context in
            try await count(context)
        })
        registry.register("reencrypt-page", .detached { context in
            try await page(context)
        })
        registry.register("reencrypt-pause", .transactional { context, transaction in
            let input = try Input(context.input)
            let reason = context.input["pause"]?["Cause"]?.stringValue ?? "a key the sweep needs is refused"
            try await Self.update(repository, input, context: context, status: .paused, at: now(), in: transaction) { progress in
                progress.pausedReason = String(reason.prefix(500))
            }
            if let record = try await repository.tenant(input.tenant, in: transaction), record.state == .reencrypting {
                try await repository.apply(.reencryptionStarted, tenant: input.tenant,
                                           waitingFor: "re-encryption to generation \(input.target) paused: \(reason.prefix(300)); it resumes when the key passes again",
                                           cause: input.cause(context), now: now(), in: transaction)
            }
            return .parked
        })
        registry.register("reencrypt-resume", .transactional { context, transaction in
            let input = try Input(context.input)
            try await Self.update(repository, input, context: context, status: .running, at: now(), in: transaction) { progress in
                progress.pausedReason = nil
            }
            if let record = try await repository.tenant(input.tenant, in: transaction), record.state == .reencrypting {
                try await repository.apply(.reencryptionStarted, tenant: input.tenant, waitingFor: Self.waiting(input.target),
                                           cause: input.cause(context), now: now(), in: transaction)
            }
            return .succeeded(["resumed": true])
        })
        registry.register("reencrypt-complete", .transactional { context, transaction in
            let input = try Input(context.input)
            let state = try SweepState(context.input["sweep"])
            let at = now()
            for source in configuration.dataSources {
                let counts = state.passCounts[source.name] ?? [:]
                let entries = counts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { generation, items in
                    LedgerEntry(tenant: input.tenant, source: source.name, generation: generation, items: items, updatedAt: at, verifiedAt: at)
                }
                try await repository.replaceLedger(tenant: input.tenant, source: source.name, entries: entries, in: transaction)
            }
            try await Self.update(repository, input, context: context, status: .completed, at: at, in: transaction) { progress in
                progress = state.progress
                progress.pausedReason = nil
            }
            var notice = false
            if let record = try await repository.tenant(input.tenant, in: transaction), record.state == .reencrypting {
                let transition = try await repository.apply(.reencryptionCompleted, tenant: input.tenant, waitingFor: nil,
                                                            cause: input.cause(context), now: at,
                                                            detail: ["generation": String(input.target), "moved": String(state.progress.moved),
                                                                     "failures": String(state.progress.failureCount)],
                                                            in: transaction)
                if transition.actions.contains(.disableOlderBackups) {
                    _ = try await repository.disableOlderBackups(
                        tenant: input.tenant, generation: input.target,
                        reason: "re-encryption to generation \(input.target) completed: the backup's generation no longer holds the tenant's data",
                        cause: input.cause(context), now: at, in: transaction)
                }
                notice = transition.actions.contains(.notifyOperator(.reencryptionCompleted))
            } else {
                // Completed while suspended (or by a repeat pass of an active tenant): still nothing is left
                // under older generations, so their backups are disabled all the same.
                _ = try await repository.disableOlderBackups(
                    tenant: input.tenant, generation: input.target,
                    reason: "re-encryption to generation \(input.target) completed: the backup's generation no longer holds the tenant's data",
                    cause: input.cause(context), now: at, in: transaction)
                try await AuditLog.append(repository, in: transaction, tenant: input.tenant, kind: .transition,
                                          action: "re-encryption to generation \(input.target) completed",
                                          detail: ["moved": String(state.progress.moved), "failures": String(state.progress.failureCount)],
                                          cause: input.cause(context), at: at)
            }
            return .succeeded(["completed": true, "notice": .bool(notice), "moved": .number(Double(state.progress.moved)),
                               "failures": .number(Double(state.progress.failureCount))])
        })
        registry.register("reencrypt-notify", .detached { context in
            let input = try Input(context.input)
            guard context.input["outcome"]?["notice"]?.boolValue == true else {
                return .succeeded(["sent": false, "reason": "the tenant was not re-encrypting (suspended meanwhile): no notice"])
            }
            let state = try SweepState(context.input["sweep"])
            let data: JSONObject = [
                "generation": .number(Double(input.target)), "moved": .number(Double(state.progress.moved)),
                "failures": .number(Double(state.progress.failureCount)), "passes": .number(Double(state.progress.passes)),
            ]
            let id = "\(context.request.execution)/\(OperatorNotifier.Notice.reencryptionCompleted.rawValue)"
            switch try await notifier.deliver(.reencryptionCompleted, id: id, tenant: input.tenant, data: data, at: now()) {
            case .delivered(let status): return .succeeded(["sent": true, "status": .number(Double(status)), "id": .string(id)])
            case .notConfigured: return .succeeded(["sent": false, "reason": "no notifications in the operator configuration"])
            }
        })
        registry.register("reencrypt-superseded", .transactional { context, transaction in
            let input = try Input(context.input)
            let cause = context.input["failure"]?["Cause"]?.stringValue ?? "a newer generation was recorded"
            try await Self.update(repository, input, context: context, status: .completed, at: now(), in: transaction) { progress in
                progress.pausedReason = "superseded: \(cause.prefix(300))"
            }
            return .succeeded(["superseded": true])
        })
    }

    static func waiting(_ target: Int) -> String { "re-encryption to generation \(target)" }

    /// Rewrites the stored record's status and progress in `transaction` (the step's, or `save`'s own): the
    /// progress the sweep carries (else the stored one), then `change`; the first start time is kept.
    private static func update(_ repository: Repository, _ input: Input, context: TaskContext, status: ReencryptionRecord.Status, at: Date,
                               in transaction: Repository.Transaction, _ change: (inout ReencryptionProgress) -> Void) async throws {
        let existing = try await repository.reencryptions(tenant: input.tenant, in: transaction).first { $0.target == input.target }
        var progress = existing?.progress ?? ReencryptionProgress()
        if let sweep = context.input["sweep"], let state = try? SweepState(sweep) { progress = state.progress }
        change(&progress)
        try await repository.saveReencryption(
            ReencryptionRecord(tenant: input.tenant, target: input.target, execution: context.request.execution, status: status,
                               progress: progress, startedAt: existing?.startedAt ?? at, updatedAt: at),
            in: transaction)
    }

    // MARK: Counting and moving

    /// Counts what is behind the target in every source (a header scan): the progress bar's total.
    func count(_ context: TaskContext) async throws -> TaskOutcome {
        let input = try Input(context.input)
        try await checkTenant(input)
        var state = SweepState()
        let generations = try await repository.generations(of: input.tenant)
        let reader = try await kmsStep("resolve the provider key's alias") {
            try await LedgerScanner(kms: kms).reader(for: generations.filter { $0.retiredAt == nil })
        }
        for source in configuration.dataSources {
            let counts = try await sourceStep(source) { opened in
                try await LedgerScanner(kms: kms).count(tenant: input.tenant, source: opened, reader: reader)
            }
            state.progress.total += counts.filter { $0.key != input.target && $0.key != LedgerEntry.unreadable }.values.reduce(0, +)
        }
        try await save(state, input, context: context)
        return .succeeded(try state.json())
    }

    /// Moves one page of the current source and says where the next starts; ends a pass after the
    /// last source, and the sweep after a pass that found nothing left to move.
    func page(_ context: TaskContext) async throws -> TaskOutcome {
        let input = try Input(context.input)
        try await checkTenant(input)
        var state = try SweepState(context.input["sweep"])
        let sources = configuration.dataSources
        // The last page's unspent KMS budget is waited out here, before this page, not after that page's
        // writes: a process killed while waiting then loses no journaled count.
        if state.paceSeconds > 0 {
            try await pace(state.paceSeconds)
            state.paceSeconds = 0
        }
        let started = ContinuousClock.now
        if state.source < sources.count {
            let configuration = sources[state.source]
            let sweeper = Reencryption(crypto: crypto, kms: kms, mode: input.settings.mode)
            let callsBefore = await crypto.metrics().kmsCalls
            let cursor = state.cursor?.id
            let page = try await sourceStep(configuration) { source in
                try await kmsStep("page of \(configuration.name)") {
                    try await sweeper.sweep(tenant: input.tenant, source: source, after: cursor, limit: input.settings.batchSize)
                }
            }
            let calls = await crypto.metrics().kmsCalls - callsBefore + sweeper.rewrapKMSCalls
            state.add(page, source: configuration.name, calls: calls)
            // The KMS budget: a page that made its calls faster than the rate allows waits the rest.
            if input.settings.kmsCallsPerSecond > 0 {
                let budget = Double(calls) / input.settings.kmsCallsPerSecond
                let spent = Self.seconds(ContinuousClock.now - started)
                if budget > spent { state.paceSeconds = budget - spent }
            }
            if page.finished {
                state.source += 1
                state.cursor = nil
            } else {
                state.cursor = page.cursor.map(SweepState.Cursor.init)
            }
        }
        if state.source >= sources.count {
            state.endPass()
        }
        state.progress.activeSeconds += Self.seconds(ContinuousClock.now - started)
        try await save(state, input, context: context)
        return .succeeded(try state.json())
    }

    /// Pauses (as a step failure the definition catches) while the tenant cannot be touched, and
    /// stops when a newer generation took over.
    private func checkTenant(_ input: Input) async throws {
        guard let record = try await repository.tenant(input.tenant) else {
            throw TaskFailure(error: ReencryptionWorkflow.ErrorName.badInput.rawValue, cause: "tenant \(input.tenant) is not registered")
        }
        if record.state == .suspended || record.state == .offboarded {
            throw TaskFailure(error: ReencryptionWorkflow.ErrorName.paused.rawValue,
                              cause: "the tenant is \(record.state.rawValue): nothing of it is read or written until it is reinstated")
        }
        if record.generation != input.target {
            throw TaskFailure(error: ReencryptionWorkflow.ErrorName.superseded.rawValue,
                              cause: "the tenant's current generation is \(record.generation), not \(input.target); its own re-encryption moves the items")
        }
    }

    private func save(_ state: SweepState, _ input: Input, context: TaskContext) async throws {
        let at = now()
        try await repository.write { [repository] transaction in
            try await Self.update(repository, input, context: context, status: state.done ? .completed : .running, at: at,
                                  in: transaction) { $0 = state.progress }
        }
    }

    /// Opens `configuration`, runs `body` on it, closes it; an unreachable source is retried.
    private func sourceStep<T>(_ configuration: DataSourceConfiguration, _ body: (any DataSource) async throws -> T) async throws -> T {
        let source: any DataSource
        do {
            source = try await openSource(configuration)
        } catch let error as TenantError {
            throw TaskFailure(error: ReencryptionWorkflow.ErrorName.dataSourceUnavailable.rawValue,
                              cause: "data source \(configuration.name): \(error.message)")
        }
        do {
            let result = try await body(source)
            await source.close()
            return result
        } catch let error as TenantError where error.code == .dataSourceFailure {
            await source.close()
            throw TaskFailure(error: ReencryptionWorkflow.ErrorName.dataSourceUnavailable.rawValue,
                              cause: "data source \(configuration.name): \(error.message)")
        } catch {
            await source.close()
            throw error
        }
    }

    /// Turns KMS failures into the step failure their class calls for: a revocation pauses, an
    /// outage or cmkctl's own setup is retried; a refused tenant pauses.
    private func kmsStep<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as KMSError {
            throw EnrollmentHandlers<Repository>.taskFailure(error, what)
        } catch let error as TenantError where error.code == .tenantSuspended {
            throw TaskFailure(error: ReencryptionWorkflow.ErrorName.paused.rawValue, cause: error.message)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    // MARK: Input and state

    struct Input {
        let tenant: String
        let target: Int
        let settings: ReencryptionSettings
        let ticket: String?
        let operatorName: String?

        init(_ value: JSONValue) throws {
            guard let tenant = value["tenant"]?.stringValue, let target = value["target"]?.numberValue else {
                throw TaskFailure(error: ReencryptionWorkflow.ErrorName.badInput.rawValue, cause: "the re-encryption input lacks its tenant or target")
            }
            self.tenant = tenant
            self.target = Int(target)
            settings = ReencryptionSettings(input: value)
            ticket = value["ticket"]?.stringValue
            operatorName = value["operator"]?.stringValue
        }

        func cause(_ context: TaskContext) -> Cause {
            Cause(ticket: ticket, operatorName: operatorName ?? "cmkctl re-encryption", execution: context.idempotencyKey)
        }
    }
}

/// The sweep's position and counters, carried from page to page as the `Page` step's result.
struct SweepState: Codable, Sendable, Equatable {
    /// A page cursor as JSON: an integer or text id.
    struct Cursor: Codable, Sendable, Equatable {
        var integer: Int64?
        var text: String?

        init(_ id: ItemID) {
            switch id {
            case .integer(let value): integer = value
            case .text(let value): text = value
            }
        }

        var id: ItemID? { integer.map(ItemID.integer) ?? text.map(ItemID.text) }
    }

    var done = false
    /// Index of the data source being swept, in configuration order.
    var source = 0
    var cursor: Cursor?
    var pass = 1
    var passMoved = 0
    var passRaces = 0
    /// This pass's items by source and generation: the ledger once a pass moves nothing.
    var passCounts: [String: [Int: Int]] = [:]
    var progress = ReencryptionProgress()
    /// Seconds the next page waits first, so the sweep keeps to its KMS call rate.
    var paceSeconds: Double = 0

    init() {}

    init(_ value: JSONValue?) throws {
        guard let value else {
            throw TaskFailure(error: ReencryptionWorkflow.ErrorName.badInput.rawValue, cause: "the re-encryption state lacks its sweep position")
        }
        self = try JSONDecoder().decode(SweepState.self, from: Data(value.jsonText.utf8))
    }

    func json() throws -> JSONValue {
        try JSONValue(utf8: JSONEncoder().encode(self))
    }

    mutating func add(_ page: ReencryptionPage, source: String, calls: Int) {
        progress.scanned += page.scanned
        progress.rewrapped += page.rewrapped
        progress.reencrypted += page.reencrypted
        progress.lostRaces += page.lostRaces
        progress.vanished += page.vanished
        progress.kmsCalls += calls
        passMoved += page.rewrapped + page.reencrypted
        passRaces += page.lostRaces
        for (generation, items) in page.generations {
            passCounts[source, default: [:]][generation, default: 0] += items
        }
        progress.failureCount += page.failures.count
        for failure in page.failures where progress.failures.count < ReencryptionProgress.failureSampleLimit {
            progress.failures.append(.init(source: source, id: failure.id.description, column: failure.column, reason: failure.reason.description))
        }
        // Items an application wrote under an older generation while the sweep ran join the total.
        progress.total = max(progress.total, progress.moved + progress.failureCount)
    }

    /// After the last source: the sweep is done when the pass moved nothing and lost no race (it was
    /// the verifying scan); otherwise another pass starts from the first source.
    mutating func endPass() {
        progress.passes = pass
        if passMoved == 0 && passRaces == 0 {
            done = true
            return
        }
        pass += 1
        source = 0
        cursor = nil
        passMoved = 0
        passRaces = 0
        passCounts = [:]
        progress.scanned = 0
        progress.failures = []
        progress.failureCount = 0
    }
}
