import CMKExampleHandlers
import CMKWorkflow
import Foundation
import Testing

@Suite("Definition loading and validation")
struct DefinitionLoaderTests {
    let loader = DefinitionLoader(handlerNames: ["work", "other"])

    private func load(_ json: String) throws -> StateMachineDefinition {
        try loader.load(data: Data(json.utf8), name: "test", file: "test.asl.json")
    }

    @Test func loadsTheExampleDefinition() throws {
        let definition = try DefinitionLoader(handlerNames: ExampleHandlers.names).load(file: TestPaths.exampleDefinition)
        #expect(definition.name == "example")
        #expect(definition.startAt == "RecordRotation")
        #expect(definition.states.count == 9)
        #expect(definition.timeoutSeconds == 86400)
        guard case .task(let notify) = try definition.state("NotifyTenant").kind else {
            Issue.record("NotifyTenant is not a Task")
            return
        }
        #expect(notify.handler == "notify-tenant")
        #expect(notify.retry == [
            RetryRule(errorEquals: ["Notify.Unavailable"], intervalSeconds: 1, maxAttempts: 3, backoffRate: 2,
                maxDelaySeconds: 2, jitter: .full)
        ])
        #expect(notify.catchers == [CatchRule(errorEquals: ["States.ALL"], next: "NotifyFailed", resultPath: .path(try JSONPath(parsing: "$.notifyError")))])
    }

    @Test func theExampleNeedsItsHandlersRegistered() throws {
        #expect {
            try DefinitionLoader(handlerNames: ["record-rotation"]).load(file: TestPaths.exampleDefinition)
        } throws: { error in
            let message = (error as? WorkflowError)?.message ?? ""
            return message.contains("example.asl.json") && message.contains("state \"AwaitApproval\"")
                && message.contains("field \"Resource\"") && message.contains("await-approval")
        }
    }

    /// Each refusal must name the file, the state (when there is one) and the field.
    @Test(arguments: [
        (#"{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true}}}"#, #"state "A": field "Type""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Pass"}}}"#, #"state "A": field "Next": missing"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#, #"state "A": field "Next": names no state"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Succeed"}}}"#, #"state "B": unreachable"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:nope","End":true}}}"#, #"state "A": field "Resource": no handler named "nope""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true}}}"#, #"state "A": field "Resource": must be an activity ARN"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"ResultSelector":{}}}}"#, #"state "A": field "ResultSelector""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"JitterStrategy":"HALF"}]}}}"#, #"field "Retry[0].JitterStrategy""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"Foo":1}]}}}"#, #"field "Retry[0].Foo""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Catch":[{"ErrorEquals":["X"],"Next":"Z"}]}}}"#, #"field "Catch[0].Next": names no state"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.Permissions"]}]}}}"#, #"field "Retry[0].ErrorEquals""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","StringMatches":"a*","Next":"B"}]},"B":{"Type":"Succeed"}}}"#, #"field "Choices[0].StringMatches""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"B"}]},"B":{"Type":"Succeed"}}}"#, #"field "Choices[0].NumericEquals": operand"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.items[0]","End":true}}}"#, #"state "A": field "InputPath""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Wait","End":true}}}"#, #"state "A": field "Seconds""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Wait","Timestamp":"tomorrow","End":true}}}"#, #"state "A": field "Timestamp""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"items"},"End":true}}}"#, #"state "A": field "Parameters""#),
        (#"{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Succeed"}}}"#, #"field "QueryLanguage""#),
        (#"{"StartAt":"Z","States":{"A":{"Type":"Succeed"}}}"#, #"field "StartAt""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"TimeoutSeconds":5,"HeartbeatSeconds":10}}}"#, #"field "HeartbeatSeconds""#),
        // Step Functions takes whole seconds and counts only: what it refuses, the loader refuses.
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":0.2}]}}}"#, #"field "Retry[0].IntervalSeconds": must be an integer >= 1"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":0}]}}}"#, #"field "Retry[0].IntervalSeconds""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"MaxDelaySeconds":1.5}]}}}"#, #"field "Retry[0].MaxDelaySeconds""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":-1}]}}}"#, #"field "Retry[0].MaxAttempts": must be a non-negative integer"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":100000000}]}}}"#, #"field "Retry[0].MaxAttempts""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"BackoffRate":0.5}]}}}"#, #"field "Retry[0].BackoffRate""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"TimeoutSeconds":0}}}"#, #"field "TimeoutSeconds": must be an integer >= 1"#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"TimeoutSeconds":2.5}}}"#, #"field "TimeoutSeconds""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true,"TimeoutSeconds":10,"HeartbeatSeconds":0.5}}}"#, #"field "HeartbeatSeconds""#),
        (#"{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":0.2,"End":true}}}"#, #"state "A": field "Seconds": must be a non-negative integer"#),
        (#"{"StartAt":"A","TimeoutSeconds":1e300,"States":{"A":{"Type":"Succeed"}}}"#, #"field "TimeoutSeconds""#),
        (#"{"StartAt": "A", "States": "#, "not valid JSON"),
    ])
    func refusesWithLocation(json: String, expected: String) throws {
        #expect {
            try load(json)
        } throws: { error in
            guard let error = error as? WorkflowError, error.code == .invalidDefinition else { return false }
            return error.message.hasPrefix("test.asl.json") && error.message.contains(expected)
        }
    }

    @Test func acceptsEveryConstructOfTheSubset() throws {
        let json = #"""
            {"StartAt":"P","TimeoutSeconds":60,"States":{
              "P":{"Type":"Pass","InputPath":"$.in","Parameters":{"a.$":"$.a","k":1},"ResultPath":"$.r","OutputPath":"$","Next":"C"},
              "C":{"Type":"Choice","Choices":[
                 {"Not":{"Variable":"$.r.a","IsNull":true},"Next":"W1"},
                 {"Or":[{"Variable":"$.r.k","NumericGreaterThanEqualsPath":"$.r.a"},{"Variable":"$.s","StringEquals":"x"}],"Next":"W2"}],
                 "Default":"W3"},
              "W1":{"Type":"Wait","Seconds":1,"Next":"W4"},
              "W2":{"Type":"Wait","SecondsPath":"$.secs","Next":"W4"},
              "W3":{"Type":"Wait","Timestamp":"2030-01-01T00:00:00Z","Next":"W4"},
              "W4":{"Type":"Wait","TimestampPath":"$.when","Next":"T"},
              "T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","TimeoutSeconds":10,"HeartbeatSeconds":2,
                   "Retry":[{"ErrorEquals":["Custom.Error","States.Timeout"],"IntervalSeconds":2,"MaxAttempts":0},
                            {"ErrorEquals":["States.ALL"]}],
                   "Catch":[{"ErrorEquals":["States.TaskFailed","States.HeartbeatTimeout"],"Next":"F","ResultPath":null}],
                   "ResultPath":null,"Next":"S"},
              "S":{"Type":"Succeed","OutputPath":null},
              "F":{"Type":"Fail","Error":"E","Cause":"C"}}}
            """#
        let definition = try load(json)
        #expect(definition.states.count == 9)
        let task = try definition.state("T")
        #expect(task.resultPath == .discard)
        guard case .wait(.timestamp(let date)) = try definition.state("W3").kind else {
            Issue.record("W3 is not a timestamp wait")
            return
        }
        #expect(date == Date(timeIntervalSince1970: 1_893_456_000))
    }
}
