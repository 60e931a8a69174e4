import CMKWorkflow
import Foundation
import Testing

/// The executor's rules, stepped by hand with explicit times: no database, no sleeping.
@Suite("Execution stepper")
struct ExecutionStepperTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    private func stepper(_ json: String) throws -> ExecutionStepper {
        ExecutionStepper(
            definition: try DefinitionLoader(handlerNames: ["work"]).load(data: Data(json.utf8), name: "wf", file: "wf.asl.json"))
    }

    /// Applies decisions until the stepper asks to sleep or the execution ends; tasks answer from `tasks`.
    private func drive(
        _ stepper: ExecutionStepper, _ start: ExecutionSnapshot, at now: Date, randomUnit: Double = 0.5,
        tasks: (TaskRequest) -> Result<TaskOutcome, TaskFailure> = { .success(.succeeded($0.input)) }
    ) -> (ExecutionSnapshot, [WorkflowEvent], Date?) {
        var snapshot = start
        var events: [WorkflowEvent] = []
        for _ in 0..<100 {
            guard snapshot.status == .running else { return (snapshot, events, nil) }
            switch stepper.decide(snapshot, now: now, randomUnit: randomUnit) {
            case .sleep(let until): return (snapshot, events, until)
            case .commit(let step):
                events += step.events
                snapshot = step.snapshot
            case .runTask(let request):
                let step = stepper.complete(snapshot, request: request, outcome: tasks(request), now: now, randomUnit: randomUnit)
                events += step.events
                snapshot = step.snapshot
            }
        }
        Issue.record("execution did not settle")
        return (snapshot, events, nil)
    }

    @Test func runsPassAndChoiceToSuccessWithNumberedEvents() throws {
        let stepper = try stepper(#"""
            {"StartAt":"A","States":{
              "A":{"Type":"Pass","Result":{"v":7},"ResultPath":"$.r","Next":"C"},
              "C":{"Type":"Choice","Choices":[{"Variable":"$.r.v","NumericGreaterThan":5,"Next":"Big"}],"Default":"Small"},
              "Big":{"Type":"Pass","Parameters":{"size":"big","v.$":"$.r.v"},"End":true},
              "Small":{"Type":"Fail","Error":"TooSmall"}}}
            """#)
        let start = stepper.start(name: "e1", input: ["in": 1], now: t0)
        let (final, events, _) = drive(stepper, start.snapshot, at: t0)
        #expect(final.status == .succeeded)
        #expect(final.output == ["size": "big", "v": 7])
        let all = start.events + events
        #expect(all.map(\.seq) == Array(1...all.count))
        #expect(all.map(\.kind) == [.executionStarted, .stateEntered, .stateEntered, .stateEntered, .executionSucceeded])
        #expect(all.compactMap(\.state) == ["A", "C", "Big"])
    }

    @Test func waitSetsATimerThatFiresOnlyWhenDue() throws {
        let stepper = try stepper(#"{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","Next":"D"},"D":{"Type":"Succeed"}}}"#)
        let start = stepper.start(name: "e", input: ["s": 30], now: t0).snapshot
        let (waiting, events, until) = drive(stepper, start, at: t0)
        #expect(waiting.phase == .waiting)
        #expect(until == t0.addingTimeInterval(30))
        #expect(events.last?.kind == .timerSet)
        let (early, earlyEvents, _) = drive(stepper, waiting, at: t0.addingTimeInterval(29.9))
        #expect(early == waiting && earlyEvents.isEmpty)
        let (done, doneEvents, _) = drive(stepper, waiting, at: t0.addingTimeInterval(30))
        #expect(done.status == .succeeded)
        #expect(doneEvents.map(\.kind) == [.timerFired, .stateEntered, .executionSucceeded])
    }

    @Test func retriesWithBackoffThenSucceeds() throws {
        let stepper = try stepper(#"""
            {"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work",
              "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":10,"BackoffRate":3,"MaxAttempts":2}],"End":true}}}
            """#)
        let failTwice: (TaskRequest) -> Result<TaskOutcome, TaskFailure> = { request in
            request.attempt <= 2 ? .failure(TaskFailure(error: "Flaky")) : .success(.succeeded(["attempt": .number(Double(request.attempt))]))
        }
        var snapshot = stepper.start(name: "e", input: [:], now: t0).snapshot
        var (after1, events1, until1) = drive(stepper, snapshot, at: t0, tasks: failTwice)
        #expect(until1 == t0.addingTimeInterval(10))
        #expect(after1.attempt == 2 && after1.phase == .retrying)
        #expect(events1.map(\.kind) == [.taskScheduled, .taskFailed, .retryScheduled])
        snapshot = after1
        (after1, events1, until1) = drive(stepper, snapshot, at: t0.addingTimeInterval(10), tasks: failTwice)
        #expect(until1 == t0.addingTimeInterval(40))
        let (done, events3, _) = drive(stepper, after1, at: t0.addingTimeInterval(40), tasks: failTwice)
        #expect(done.status == .succeeded)
        #expect(done.output == ["attempt": 3])
        #expect(events3.first?.detail["idempotencyKey"] == "e/T/3")
    }

    @Test func exhaustedRetriesAreCaughtWithTheErrorPlacedByResultPath() throws {
        let stepper = try stepper(#"""
            {"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work",
              "Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":1}],
              "Catch":[{"ErrorEquals":["Boom"],"Next":"Handle","ResultPath":"$.err"}],"End":true},
              "Handle":{"Type":"Pass","End":true}}}
            """#)
        let boom: (TaskRequest) -> Result<TaskOutcome, TaskFailure> = { _ in .failure(TaskFailure(error: "Boom", cause: "bad")) }
        let start = stepper.start(name: "e", input: ["keep": 1], now: t0).snapshot
        let (retrying, _, until) = drive(stepper, start, at: t0, tasks: boom)
        let (done, events, _) = drive(stepper, retrying, at: until!, tasks: boom)
        #expect(done.status == .succeeded)
        #expect(done.output == ["keep": 1, "err": ["Error": "Boom", "Cause": "bad"]])
        #expect(events.map(\.kind) == [.taskScheduled, .taskFailed, .caught, .stateEntered, .executionSucceeded])
    }

    @Test func uncaughtFailureFailsTheExecution() throws {
        let stepper = try stepper(#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","Catch":[{"ErrorEquals":["Other"],"Next":"T"}],"End":true}}}"#)
        let start = stepper.start(name: "e", input: [:], now: t0).snapshot
        let (done, _, _) = drive(stepper, start, at: t0) { _ in .failure(TaskFailure(error: "Custom.Error", cause: "why")) }
        #expect(done.status == .failed)
        #expect(done.error == "Custom.Error" && done.cause == "why")
    }

    @Test func parkedTaskResumesWithTheSignalPayload() throws {
        let stepper = try stepper(#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","TimeoutSeconds":60,"ResultPath":"$.answer","End":true}}}"#)
        let start = stepper.start(name: "e", input: ["q": 1], now: t0).snapshot
        var (parked, events, until) = drive(stepper, start, at: t0) { _ in .success(.parked) }
        #expect(parked.phase == .parked)
        #expect(until == t0.addingTimeInterval(60))
        #expect(events.map(\.kind) == [.taskScheduled, .parked])
        parked.signal = ["ok": true]
        let (done, resumed, _) = drive(stepper, parked, at: t0.addingTimeInterval(5))
        #expect(done.status == .succeeded)
        #expect(done.output == ["q": 1, "answer": ["ok": true]])
        #expect(resumed.map(\.kind) == [.taskSucceeded, .executionSucceeded])
    }

    @Test func parkedTaskTimesOutWithStatesTimeout() throws {
        let stepper = try stepper(#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","TimeoutSeconds":60,"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Late"}],"End":true},"Late":{"Type":"Fail","Error":"Late"}}}"#)
        let start = stepper.start(name: "e", input: [:], now: t0).snapshot
        let (parked, _, _) = drive(stepper, start, at: t0) { _ in .success(.parked) }
        let (done, events, _) = drive(stepper, parked, at: t0.addingTimeInterval(60))
        #expect(done.status == .failed && done.error == "Late")
        #expect(events.map(\.kind) == [.taskFailed, .caught, .stateEntered, .executionFailed])
        #expect(events.first?.detail["error"] == .string(StatesError.timeout))
    }

    @Test func timeoutSecondsPathSetsTheParkDeadlineFromTheInput() throws {
        let stepper = try stepper(#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","TimeoutSecondsPath":"$.recheck.seconds","End":true}}}"#)
        let start = stepper.start(name: "e", input: ["recheck": ["seconds": 45]], now: t0).snapshot
        var seen: Double?
        let (parked, _, until) = drive(stepper, start, at: t0) { request in
            seen = request.timeoutSeconds
            return .success(.parked)
        }
        #expect(seen == 45)
        #expect(parked.phase == .parked)
        #expect(until == t0.addingTimeInterval(45))

        let missing = stepper.start(name: "m", input: [:], now: t0).snapshot
        let (failed, _, _) = drive(stepper, missing, at: t0) { _ in .success(.parked) }
        #expect(failed.status == .failed && failed.error == StatesError.runtime)
    }

    @Test func timeoutSecondsPathExcludesTimeoutSeconds() {
        #expect(throws: WorkflowError.self) {
            try stepper(#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","TimeoutSeconds":5,"TimeoutSecondsPath":"$.t","End":true}}}"#)
        }
    }

    @Test func machineTimeoutEndsTheExecution() throws {
        let stepper = try stepper(#"{"StartAt":"W","TimeoutSeconds":5,"States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}"#)
        let start = stepper.start(name: "e", input: [:], now: t0).snapshot
        let (waiting, _, until) = drive(stepper, start, at: t0)
        #expect(until == t0.addingTimeInterval(5))
        let (done, events, _) = drive(stepper, waiting, at: t0.addingTimeInterval(5))
        #expect(done.status == .timedOut)
        #expect(events.map(\.kind) == [.executionTimedOut])
    }

    @Test func badPathInTaskInputIsACatchableRuntimeError() throws {
        let stepper = try stepper(#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","InputPath":"$.missing","Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"}],"End":true},"F":{"Type":"Fail","Error":"Caught"}}}"#)
        let start = stepper.start(name: "e", input: [:], now: t0).snapshot
        let (done, _, _) = drive(stepper, start, at: t0) { _ in
            Issue.record("the handler must not run")
            return .success(.succeeded(nil))
        }
        #expect(done.status == .failed && done.error == "Caught")
    }

    @Test func foldCarriesPureStatesUpToTheNextTaskAndNoFurther() throws {
        let stepper = try stepper(#"""
            {"StartAt":"T1","States":{
              "T1":{"Type":"Task","Resource":"arn:aws:states:::activity:work","Next":"P"},
              "P":{"Type":"Pass","Result":{"v":7},"ResultPath":"$.r","Next":"C"},
              "C":{"Type":"Choice","Choices":[{"Variable":"$.r.v","NumericEquals":7,"Next":"T2"}],"Default":"D"},
              "T2":{"Type":"Task","Resource":"arn:aws:states:::activity:work","Next":"D"},
              "D":{"Type":"Succeed"}}}
            """#)
        let start = stepper.start(name: "e", input: [:], now: t0).snapshot
        guard case .runTask(let first) = stepper.decide(start, now: t0, randomUnit: 0.5) else {
            Issue.record("T1 should run first")
            return
        }
        let completed = stepper.complete(start, request: first, outcome: .success(.succeeded(["ok": true])), now: t0, randomUnit: 0.5)
        let (folded, next) = stepper.fold(completed, now: t0, randomUnit: { 0.5 })
        // T1's result, P and C in one step; T2 is entered but not run: it runs after this step commits.
        #expect(folded.events.map(\.kind) == [.taskScheduled, .taskSucceeded, .stateEntered, .stateEntered, .stateEntered])
        #expect(folded.events.map(\.seq) == Array(start.nextSeq..<(start.nextSeq + 5)))
        #expect(folded.snapshot.stateName == "T2" && folded.snapshot.phase == .entering && !folded.releasesLease)
        guard case .runTask(let second)? = next else {
            Issue.record("the fold should stop at T2")
            return
        }
        #expect(second.state == "T2" && second.attempt == 1)
        #expect(second.input == ["ok": true, "r": ["v": 7]])

        let last = stepper.complete(folded.snapshot, request: second, outcome: .success(.succeeded(nil)), now: t0, randomUnit: 0.5)
        let (ended, after) = stepper.fold(last, now: t0, randomUnit: { 0.5 })
        #expect(ended.events.map(\.kind) == [.taskScheduled, .taskSucceeded, .stateEntered, .executionSucceeded])
        #expect(ended.releasesLease && after == nil)
    }

    @Test func foldStopsAtATimerAndAtItsLimit() throws {
        let waits = try stepper(#"{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"W"},"W":{"Type":"Wait","Seconds":5,"Next":"D"},"D":{"Type":"Succeed"}}}"#)
        let started = waits.start(name: "e", input: [:], now: t0).snapshot
        guard case .commit(let entered) = waits.decide(started, now: t0, randomUnit: 0.5) else {
            Issue.record("P should commit")
            return
        }
        let (timer, next) = waits.fold(entered, now: t0, randomUnit: { 0.5 })
        #expect(timer.events.map(\.kind) == [.stateEntered, .timerSet])
        #expect(timer.releasesLease && next == nil)

        let loop = try stepper(#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}"#)
        let looping = loop.start(name: "l", input: [:], now: t0).snapshot
        guard case .commit(let step) = loop.decide(looping, now: t0, randomUnit: 0.5) else {
            Issue.record("A should commit")
            return
        }
        let (bounded, more) = loop.fold(step, now: t0, randomUnit: { 0.5 }, limit: 10)
        #expect(bounded.events.count == 10)
        guard case .commit(let rest)? = more else {
            Issue.record("the fold should hand back the next commit at its limit")
            return
        }
        #expect(rest.events.first?.seq == bounded.snapshot.nextSeq)
    }
}
