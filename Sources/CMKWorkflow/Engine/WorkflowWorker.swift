import Foundation
import Logging

/// Runs executions from a journal: claims due ones under a lease, drives them step by step, and sleeps
/// until the next timer, retry or lease expiry when nothing is due.
///
/// Several workers, in one process or many, may share a journal: the lease and the `next_seq` fence in
/// every commit make sure only one of them advances an execution at a time.
public final class WorkflowWorker<Journal: WorkflowJournal>: Sendable {
    public let journal: Journal
    public let definitions: [String: StateMachineDefinition]
    public let handlers: HandlerRegistry<Journal.Transaction>
    public let clock: any WorkflowClock
    /// Identifies this worker in leases; unique per process run.
    public let owner: String
    public let leaseSeconds: Double
    /// Upper bound on an idle sleep, so executions started or signalled by other processes are noticed.
    public let idleCheckSeconds: Double
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let leaseKeeper: LeaseKeeper

    public init(
        journal: Journal, definitions: [StateMachineDefinition], handlers: HandlerRegistry<Journal.Transaction>,
        clock: some WorkflowClock = SystemWorkflowClock(), owner: String = "worker-\(UUID().uuidString)",
        leaseSeconds: Double = 10, idleCheckSeconds: Double = 0.5,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "cmkctl.workflow")
    ) {
        self.journal = journal
        self.definitions = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.handlers = handlers
        self.clock = clock
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.idleCheckSeconds = idleCheckSeconds
        self.random = random
        self.logger = logger
        self.leaseKeeper = LeaseKeeper(journal: journal, owner: owner, leaseSeconds: leaseSeconds, clock: clock)
    }

    /// Starts an execution of a loaded workflow; an existing name returns the existing execution.
    @discardableResult
    public func start(workflow: String, name: String, input: JSONValue) async throws -> ExecutionSnapshot {
        guard let definition = definitions[workflow] else {
            throw WorkflowError(.workflowNotLoaded, "workflow \"\(workflow)\" is not loaded")
        }
        return try await journal.start(name: name, input: input, definition: definition, now: clock.now()).snapshot
    }

    /// Works until the task is cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            let progressed: Bool
            do {
                progressed = try await runOnce()
            } catch is CancellationError {
                return
            } catch {
                // A busy or failing store must not end the worker; the lease lets another worker step in
                // meanwhile, and the execution is retried after the idle pause.
                logger.error("workflow step failed", metadata: ["error": "\(error)"])
                progressed = false
            }
            if progressed { continue }
            let now = clock.now()
            var wake = now.addingTimeInterval(idleCheckSeconds)
            if let due = try await journal.nextWake(now: now), due < wake {
                wake = max(due, now.addingTimeInterval(0.001))
            }
            try await journal.waitForWork(until: wake, clock: clock)
        }
    }

    /// Drives every execution that is due now until it finishes, parks or sleeps; true when any was.
    @discardableResult
    public func runUntilIdle() async throws -> Bool {
        var any = false
        while try await runOnce() { any = true }
        return any
    }

    /// Where `drive(_:)` left an execution.
    public enum DriveOutcome: Sendable, Equatable {
        /// Finished, parked, or sleeping until a timer or retry: nothing more can happen now.
        case settled(ExecutionSnapshot)
        /// Another live worker holds it: its lease was renewed while this one waited for it to expire.
        case heldElsewhere(ExecutionSnapshot, ExecutionLease)
    }

    /// Drives one execution as far as it can go now, waiting out another worker's lease on it once.
    ///
    /// A command that started the execution in a process that was then killed left a lease behind;
    /// waiting for it to expire (at most that process's lease length) lets the command finish the work
    /// rather than report a state that nobody is advancing. A lease renewed meanwhile means its owner is
    /// alive and working, which `heldElsewhere` reports; an execution its holder finishes or releases
    /// meanwhile ends the wait early.
    public func drive(_ name: String, onLeaseWait: (ExecutionLease, Double) -> Void = { _, _ in }) async throws -> DriveOutcome {
        var waitedFor: ExecutionLease?
        while true {
            try await runUntilIdle()
            guard let snapshot = try await journal.execution(named: name) else {
                throw WorkflowError(.executionNotFound, "no execution named \"\(name)\"")
            }
            let now = clock.now()
            guard snapshot.status == .running, let lease = try await journal.lease(of: name), lease.owner != owner,
                  lease.expiresAt > now
            else { return .settled(snapshot) }
            if let waitedFor, waitedFor.owner == lease.owner { return .heldElsewhere(snapshot, lease) }
            waitedFor = lease
            onLeaseWait(lease, lease.expiresAt.timeIntervalSince(now))
            // Looked at four times a second meanwhile: a live holder often finishes (or parks, releasing
            // the lease) long before the lease would have expired.
            let expiry = lease.expiresAt.addingTimeInterval(0.05)
            while clock.now() < expiry {
                try await clock.sleep(until: min(expiry, clock.now().addingTimeInterval(0.25)))
                guard let current = try await journal.execution(named: name), current.status == .running,
                      let held = try await journal.lease(of: name), held.owner == lease.owner
                else { break }
            }
        }
    }

    /// Claims and drives one due execution; false when none was due.
    ///
    /// The claim commits the execution's first steps too (up to its next task), so a claim costs no
    /// transaction of its own.
    public func runOnce() async throws -> Bool {
        let definitions = definitions, clock = clock, random = random
        let claim = try await journal.claim(owner: owner, leaseSeconds: leaseSeconds, now: clock.now()) { snapshot in
            guard let definition = definitions[snapshot.workflow] else { return nil }
            let planner = ExecutionStepper(definition: definition)
            let now = clock.now()
            guard case .commit(let planned) = planner.decide(snapshot, now: now, randomUnit: random()) else {
                return nil
            }
            return planner.fold(planned, now: now, randomUnit: random).step
        }
        guard let (claimed, step) = claim else { return false }
        guard let definition = definitions[claimed.workflow] else {
            // Another worker process may have this workflow. Keeping the lease until it expires, rather than
            // releasing it, stops this worker from claiming the same execution again in a tight loop.
            logger.warning("execution of a workflow not loaded here", metadata: ["execution": "\(claimed.name)"])
            return true
        }
        let stepper = ExecutionStepper(definition: definition)
        // The decision that follows the committed claim is a pure function of what was committed, so it is
        // taken again here rather than carried out of the transaction.
        let current = step?.snapshot ?? claimed
        let first = step?.releasesLease == true ? nil : stepper.decide(current, now: clock.now(), randomUnit: random())
        do {
            try await drive(current, next: first, stepper: stepper)
        } catch let error as WorkflowError where error.code == .leaseLost {
            logger.debug("lease lost", metadata: ["execution": "\(claimed.name)"])
        }
        return true
    }

    /// Carries a held execution on from `next`, the decision taken on `snapshot`, until it releases its lease.
    ///
    /// Every commit folds the pure decisions that follow it (`ExecutionStepper.fold`); a task handler runs
    /// only once the commit that entered its state (or scheduled its retry) is durable.
    private func drive(_ start: ExecutionSnapshot, next first: ExecutionStepper.Decision?, stepper: ExecutionStepper)
        async throws
    {
        var snapshot = start
        var pending = first
        while let decision = pending {
            var next: ExecutionStepper.Decision?
            let step: StepResult
            switch decision {
            case .sleep:
                try await journal.releaseLease(execution: snapshot.name, owner: owner)
                return
            case .commit(let planned):
                let folded = stepper.fold(planned, now: clock.now(), randomUnit: random)
                next = folded.next
                step = try await journal.commit(
                    folded.step, execution: snapshot.name, owner: owner, expectedSeq: snapshot.nextSeq,
                    leaseSeconds: leaseSeconds, now: clock.now())
            case .runTask(let request):
                step = try await runTask(request, snapshot: snapshot, stepper: stepper)
                next = step.releasesLease ? nil : stepper.decide(step.snapshot, now: clock.now(), randomUnit: random())
            }
            if step.releasesLease { return }
            snapshot = step.snapshot
            pending = next
        }
    }

    /// Runs one task attempt and commits its outcome, carried on (`ExecutionStepper.fold`) within the same
    /// transaction.
    private func runTask(
        _ request: TaskRequest, snapshot: ExecutionSnapshot, stepper: ExecutionStepper
    ) async throws -> StepResult {
        guard let handler = handlers[request.handler] else {
            throw WorkflowError(.workflowNotLoaded, "no handler registered for \(request.handler)")
        }
        let clock = clock, random = random
        switch handler {
        case .transactional(let body):
            let context = TaskContext(request: request, heartbeat: {})
            let journal = journal
            return try await journal.commit(
                execution: snapshot.name, owner: owner, expectedSeq: snapshot.nextSeq, leaseSeconds: leaseSeconds,
                now: clock.now()
            ) { transaction in
                // A savepoint, so a failing handler's writes roll back while its failure event still commits.
                let attempt = try await journal.savepoint(in: transaction) { transaction in
                    try await body(context, transaction)
                }
                let outcome: Result<TaskOutcome, TaskFailure> =
                    switch attempt {
                    case .success(let outcome): .success(outcome)
                    case .failure(let failure as TaskFailure): .failure(failure)
                    case .failure(let error): .failure(TaskFailure(error: StatesError.taskFailed, cause: "\(error)"))
                    }
                let completed = stepper.complete(
                    snapshot, request: request, outcome: outcome, now: clock.now(), randomUnit: random())
                return stepper.fold(completed, now: clock.now(), randomUnit: random).step
            }
        case .detached(let body):
            let outcome = await runDetached(body, request: request)
            // A worker shutting down cancels its handlers; that is not the task's failure, so nothing is
            // recorded and the attempt runs again, with the same idempotency key, after restart.
            try Task.checkCancellation()
            let completed = stepper.complete(
                snapshot, request: request, outcome: outcome, now: clock.now(), randomUnit: random())
            return try await journal.commit(
                stepper.fold(completed, now: clock.now(), randomUnit: random).step, execution: snapshot.name,
                owner: owner, expectedSeq: snapshot.nextSeq, leaseSeconds: leaseSeconds, now: clock.now())
        }
    }

    /// Runs a handler with its TimeoutSeconds and HeartbeatSeconds watched, renewing the lease meanwhile.
    ///
    /// Without either limit there is nothing to watch but the lease: the handler runs inline and the worker's
    /// `LeaseKeeper` renews the lease. With a limit, a watchdog child task races the handler and cancels it.
    private func runDetached(
        _ body: @escaping @Sendable (TaskContext) async throws -> TaskOutcome, request: TaskRequest
    ) async -> Result<TaskOutcome, TaskFailure> {
        guard request.timeoutSeconds != nil || request.heartbeatSeconds != nil else {
            leaseKeeper.hold(request.execution)
            defer { leaseKeeper.release(request.execution) }
            return await Self.outcome(of: body, context: TaskContext(request: request, heartbeat: {}))
        }
        return await runWatched(body, request: request)
    }

    /// A handler's result, with any error that is not a `TaskFailure` reported as `States.TaskFailed`.
    private static func outcome(
        of body: @Sendable (TaskContext) async throws -> TaskOutcome, context: TaskContext
    ) async -> Result<TaskOutcome, TaskFailure> {
        do {
            return .success(try await body(context))
        } catch let failure as TaskFailure {
            return .failure(failure)
        } catch {
            return .failure(TaskFailure(error: StatesError.taskFailed, cause: "\(error)"))
        }
    }

    /// Runs a handler beside a watchdog that fails it on TimeoutSeconds or HeartbeatSeconds and renews the lease.
    private func runWatched(
        _ body: @escaping @Sendable (TaskContext) async throws -> TaskOutcome, request: TaskRequest
    ) async -> Result<TaskOutcome, TaskFailure> {
        let clock = self.clock
        let lastBeat = HeartbeatRecord(clock.now())
        let context = TaskContext(request: request, heartbeat: { lastBeat.beat(at: clock.now()) })
        let started = clock.now()
        return await withTaskGroup(of: Result<TaskOutcome, TaskFailure>?.self) { group in
            group.addTask {
                await Self.outcome(of: body, context: context)
            }
            group.addTask { [journal, owner, leaseSeconds] in
                // Watchdog and lease keeper in one loop: wake at a third of the lease or the next deadline.
                // The claim or last commit just set the lease, so the first renewal waits a third of it;
                // renewing at once would add a commit to every task.
                var nextRenewal = started.addingTimeInterval(leaseSeconds / 3)
                while !Task.isCancelled {
                    let now = clock.now()
                    if let timeout = request.timeoutSeconds, now >= started.addingTimeInterval(timeout) {
                        return .failure(TaskFailure(error: StatesError.timeout, cause: "task ran past TimeoutSeconds"))
                    }
                    if let heartbeat = request.heartbeatSeconds, now >= lastBeat.lastBeat.addingTimeInterval(heartbeat) {
                        return .failure(
                            TaskFailure(error: StatesError.heartbeatTimeout, cause: "no heartbeat within HeartbeatSeconds"))
                    }
                    if now >= nextRenewal {
                        _ = try? await journal.renewLease(
                            execution: request.execution, owner: owner, leaseSeconds: leaseSeconds, now: now)
                        nextRenewal = now.addingTimeInterval(leaseSeconds / 3)
                    }
                    var wake = nextRenewal
                    if let timeout = request.timeoutSeconds { wake = min(wake, started.addingTimeInterval(timeout)) }
                    if let heartbeat = request.heartbeatSeconds {
                        wake = min(wake, lastBeat.lastBeat.addingTimeInterval(heartbeat))
                    }
                    do { try await clock.sleep(until: wake) } catch { return nil }
                }
                return nil
            }
            var result: Result<TaskOutcome, TaskFailure> = .failure(TaskFailure(error: StatesError.taskFailed))
            if let first = await group.next(), let value = first {
                result = value
            }
            group.cancelAll()
            return result
        }
    }
}
