import Foundation

/// The pure state machine of the executor: given an execution's row, the definition and the time, it says
/// what to commit next or which task to run. It performs no I/O, so every rule is testable without a database.
public struct ExecutionStepper: Sendable {
    public let definition: StateMachineDefinition

    public init(definition: StateMachineDefinition) {
        self.definition = definition
    }

    /// The next thing the worker must do for an execution it holds.
    public enum Decision: Sendable {
        /// Append these events and store this row, in one transaction.
        case commit(StepResult)
        /// Run this task attempt, then call `complete`.
        case runTask(TaskRequest)
        /// Nothing is due before this instant; the worker should release the execution.
        case sleep(until: Date)
    }

    /// The events and row of a new execution: ExecutionStarted and entry into `StartAt`.
    public func start(name: String, input: JSONValue, now: Date) -> StepResult {
        let snapshot = ExecutionSnapshot(
            name: name, workflow: definition.name, status: .running, stateName: definition.startAt,
            stateInput: input, phase: .entering, attempt: 1, retryCounts: [], dueAt: nil,
            deadline: definition.timeoutSeconds.map { now.addingTimeInterval($0) }, signal: nil, input: input,
            output: nil, error: nil, cause: nil, startedAt: now, updatedAt: now, nextSeq: 1)
        var builder = StepBuilder(snapshot: snapshot, now: now)
        builder.append(.executionStarted, state: nil, attempt: nil, detail: ["input": input])
        builder.append(.stateEntered, state: definition.startAt, attempt: nil, detail: ["input": input])
        return builder.result(releasesLease: true)
    }

    public func decide(_ snapshot: ExecutionSnapshot, now: Date, randomUnit: Double) -> Decision {
        var builder = StepBuilder(snapshot: snapshot, now: now)
        if let deadline = snapshot.deadline, now >= deadline {
            builder.finish(.timedOut, output: nil, error: StatesError.timeout, cause: "execution TimeoutSeconds elapsed")
            return .commit(builder.result(releasesLease: true))
        }
        if let wake = snapshot.wakeAt, wake > now {
            return .sleep(until: wake)
        }
        let state: StateDefinition
        do {
            state = try definition.state(snapshot.stateName)
        } catch {
            builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "\(error)")
            return .commit(builder.result(releasesLease: true))
        }
        switch snapshot.phase {
        case .waiting:
            builder.append(.timerFired, state: state.name, attempt: nil, detail: [:])
            leave(state, output: Result { try state.applyOutputPath(snapshot.stateInput) }, builder: &builder)
            return .commit(builder.result(releasesLease: builder.snapshot.wakeAt != nil))
        case .parked:
            if let payload = snapshot.signal {
                builder.snapshot.signal = nil
                return .commit(
                    complete(builder, state: state, outcome: .success(.succeeded(payload)), randomUnit: randomUnit))
            }
            let failure = TaskFailure(error: StatesError.timeout, cause: "no signal before the task's TimeoutSeconds")
            return .commit(complete(builder, state: state, outcome: .failure(failure), randomUnit: randomUnit))
        case .retrying, .entering:
            return enter(state, builder: &builder)
        }
    }

    /// The most decisions folded into one commit, so a loop of Pass and Choice states cannot grow a transaction
    /// without bound; the worker commits and folds again.
    public static let foldLimit = 64

    /// Carries `step` on through every following decision that needs neither a handler nor time to pass,
    /// so that they commit in one transaction.
    ///
    /// Only pure decisions are folded (Pass, Choice, Succeed, Fail, a fired timer, an expired deadline);
    /// they act on nothing outside the journal, so committing them together is the same as committing them
    /// one by one. The fold stops before a task: the decision that stopped it comes back as `next`, and the
    /// worker runs that task only after the combined step has committed. `next` is nil when the combined
    /// step gives up the lease (the execution ended, waits for a timer or is parked).
    public func fold(
        _ step: StepResult, now: Date, randomUnit: () -> Double, limit: Int = ExecutionStepper.foldLimit
    ) -> (step: StepResult, next: Decision?) {
        var combined = step
        var folded = 1
        while !combined.releasesLease {
            let decision = decide(combined.snapshot, now: now, randomUnit: randomUnit())
            guard case .commit(let more) = decision, folded < limit else {
                return (combined, decision)
            }
            combined.events += more.events
            combined.snapshot = more.snapshot
            combined.releasesLease = more.releasesLease
            folded += 1
        }
        return (combined, nil)
    }

    /// Records a finished task attempt: TaskScheduled and its result, then retry, catch or move on.
    public func complete(
        _ snapshot: ExecutionSnapshot, request: TaskRequest, outcome: Result<TaskOutcome, TaskFailure>, now: Date,
        randomUnit: Double
    ) -> StepResult {
        var builder = StepBuilder(snapshot: snapshot, now: now)
        builder.append(
            .taskScheduled, state: request.state, attempt: request.attempt,
            detail: ["handler": .string(request.handler), "idempotencyKey": .string(request.idempotencyKey)])
        guard let state = try? definition.state(snapshot.stateName) else {
            builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "state vanished from definition")
            return builder.result(releasesLease: true)
        }
        return complete(builder, state: state, outcome: outcome, randomUnit: randomUnit)
    }

    private func enter(_ state: StateDefinition, builder: inout StepBuilder) -> Decision {
        let snapshot = builder.snapshot
        let rawInput = snapshot.stateInput
        switch state.kind {
        case .pass(let result):
            let output = Result {
                let effective = try state.effectiveInput(from: rawInput)
                return try state.output(rawInput: rawInput, result: result ?? effective)
            }
            leave(state, output: output, builder: &builder)
        case .succeed:
            do {
                let output = try state.applyOutputPath(try state.effectiveInput(from: rawInput))
                builder.finish(.succeeded, output: output, error: nil, cause: nil)
            } catch {
                builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "\(error)")
            }
        case .fail(let error, let cause):
            builder.finish(.failed, output: nil, error: error ?? "States.Fail", cause: cause ?? "")
        case .choice(let branches, let defaultNext):
            do {
                let effective = try state.effectiveInput(from: rawInput)
                let output = try state.applyOutputPath(effective)
                guard let target = branches.first(where: { $0.rule.matches(effective) })?.next ?? defaultNext else {
                    builder.finish(.failed, output: nil, error: "States.NoChoiceMatched", cause: "no rule matched in \(state.name)")
                    break
                }
                builder.transition(to: target, input: output)
            } catch {
                builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "\(error)")
            }
        case .wait(let duration):
            do {
                let effective = try state.effectiveInput(from: rawInput)
                let due = try duration.dueDate(enteredAt: builder.now, input: effective)
                builder.snapshot.phase = .waiting
                builder.snapshot.dueAt = due
                builder.append(.timerSet, state: state.name, attempt: nil, detail: ["due": .string(Self.format(due))])
            } catch {
                builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "\(error)")
            }
        case .task(let spec):
            do {
                let effective = try state.effectiveInput(from: rawInput)
                return .runTask(
                    TaskRequest(
                        execution: snapshot.name, state: state.name, attempt: snapshot.attempt, handler: spec.handler,
                        input: effective, timeoutSeconds: try spec.timeout(for: effective),
                        heartbeatSeconds: spec.heartbeatSeconds))
            } catch {
                let failure = TaskFailure(error: StatesError.runtime, cause: "\(error)")
                return .commit(complete(builder, state: state, outcome: .failure(failure), randomUnit: 0))
            }
        }
        return .commit(builder.result(releasesLease: builder.snapshot.wakeAt != nil))
    }

    private func complete(
        _ start: StepBuilder, state: StateDefinition, outcome: Result<TaskOutcome, TaskFailure>, randomUnit: Double
    ) -> StepResult {
        var builder = start
        guard case .task(let spec) = state.kind else {
            builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "\(state.name) is not a Task")
            return builder.result(releasesLease: true)
        }
        let attempt = builder.snapshot.attempt
        switch outcome {
        case .success(.parked):
            // The same timeout the attempt ran with: TimeoutSecondsPath reads the unchanged state input.
            let timeout = (try? state.effectiveInput(from: builder.snapshot.stateInput)).flatMap { try? spec.timeout(for: $0) }
            let deadline = (timeout ?? spec.timeoutSeconds).map { builder.now.addingTimeInterval($0) }
            builder.snapshot.phase = .parked
            builder.snapshot.dueAt = deadline
            builder.append(
                .parked, state: state.name, attempt: attempt,
                detail: deadline.map { ["deadline": .string(Self.format($0))] } ?? [:])
        case .success(.succeeded(let result)):
            builder.append(.taskSucceeded, state: state.name, attempt: attempt, detail: ["output": result])
            leave(state, output: Result { try state.output(rawInput: builder.snapshot.stateInput, result: result) }, builder: &builder)
        case .failure(let failure):
            builder.append(
                .taskFailed, state: state.name, attempt: attempt,
                detail: ["error": .string(failure.error), "cause": .string(failure.cause)])
            handle(failure, state: state, spec: spec, randomUnit: randomUnit, builder: &builder)
        }
        return builder.result(releasesLease: builder.snapshot.wakeAt != nil)
    }

    /// Retry if a retrier matches and has attempts left; otherwise catch; otherwise fail the execution.
    private func handle(
        _ failure: TaskFailure, state: StateDefinition, spec: TaskSpec, randomUnit: Double, builder: inout StepBuilder
    ) {
        if let index = spec.retry.firstIndex(where: { $0.handles(failure.error) }) {
            let rule = spec.retry[index]
            var counts = builder.snapshot.retryCounts
            while counts.count < spec.retry.count { counts.append(0) }
            if counts[index] < rule.maxAttempts {
                counts[index] += 1
                let delay = rule.delay(beforeRetry: counts[index], randomUnit: randomUnit)
                let due = builder.now.addingTimeInterval(delay)
                builder.snapshot.retryCounts = counts
                builder.snapshot.attempt += 1
                builder.snapshot.phase = .retrying
                builder.snapshot.dueAt = due
                builder.append(
                    .retryScheduled, state: state.name, attempt: builder.snapshot.attempt,
                    detail: ["due": .string(Self.format(due)), "delaySeconds": .number(delay)])
                return
            }
        }
        if let catcher = spec.catchers.first(where: { $0.handles(failure.error) }) {
            let errorOutput: JSONValue = ["Error": .string(failure.error), "Cause": .string(failure.cause)]
            builder.append(
                .caught, state: state.name, attempt: builder.snapshot.attempt,
                detail: ["error": .string(failure.error), "next": .string(catcher.next)])
            do {
                let output = try StateDefinition.place(errorOutput, at: catcher.resultPath, in: builder.snapshot.stateInput)
                builder.transition(to: catcher.next, input: output)
            } catch {
                builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "\(error)")
            }
            return
        }
        builder.finish(.failed, output: nil, error: failure.error, cause: failure.cause)
    }

    /// Moves to `Next` or ends the execution with the state's output.
    private func leave(_ state: StateDefinition, output: Result<JSONValue, any Error>, builder: inout StepBuilder) {
        switch output {
        case .failure(let error):
            builder.finish(.failed, output: nil, error: StatesError.runtime, cause: "\(error)")
        case .success(let value):
            if let next = state.next {
                builder.transition(to: next, input: value)
            } else {
                builder.finish(.succeeded, output: value, error: nil, cause: nil)
            }
        }
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
