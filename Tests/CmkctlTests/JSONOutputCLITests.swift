import CMKTesting
import Foundation
import Testing

/// `--json` is one option for every command that prints a result: each prints one JSON document.
@Suite struct JSONOutputCLITests {
    func document(_ scratch: Scratch, _ arguments: [String]) throws -> Any {
        let result = try CLIRunner.run(arguments + ["--json"], in: scratch.url)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return try JSONSerialization.jsonObject(with: result.stdout, options: [.fragmentsAllowed])
    }

    @Test func everyCommandThatPrintsAResultPrintsOneJSONDocument() throws {
        let scratch = try Scratch()
        let created = try #require(try document(scratch, ["kms", "create-key", "--alias", "acme-root"]) as? [String: Any])
        let key = try #require(created["arn"] as? String)
        let disabled = try #require(try document(scratch, ["kms", "disable", key]) as? [String: Any])
        #expect(disabled["arn"] as? String == key && disabled["state"] as? String == "Disabled")
        let enabled = try #require(try document(scratch, ["kms", "enable", key]) as? [String: Any])
        #expect(enabled["state"] as? String == "Enabled")

        let checked = try #require(try document(scratch, ["workflows", "validate"]) as? [[String: Any]])
        #expect(checked.map { $0["valid"] as? Bool } == [true, true, true])
        let exported = try #require(try document(scratch, ["workflows", "export", "defs"]) as? [String: Any])
        #expect((exported["written"] as? [String])?.count == 3)

        let added = try #require(try document(scratch, ["tenants", "add", "--tenant", "acme", "--tag", "acme"]) as? [String: Any])
        #expect(added["created"] as? Bool == true)
        let enrolled = try #require(try document(
            scratch, ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--tag", "acme", "--key", key, "--detach"]) as? [String: Any])
        #expect(enrolled["created"] as? Bool == true)
        let worked = try #require(try document(scratch, ["worker", "--until-idle"]) as? [String: Any])
        #expect(worked["ranSteps"] as? Bool == true)
        let statuses = try #require(try document(scratch, ["status"]) as? [[String: Any]])
        #expect(statuses.first?["state"] as? String == "active")
        let executions = try #require(try document(scratch, ["executions", "list"]) as? [[String: Any]])
        #expect(executions.first?["name"] as? String == "enroll-acme-SUP-1" && executions.first?["status"] as? String == "succeeded")
        #expect(try document(scratch, ["executions", "show", "enroll-acme-SUP-1"]) is [String: Any])
        #expect(try document(scratch, ["history", "--tenant", "acme"]) is [[String: Any]])
        let verified = try #require(try document(scratch, ["audit", "verify"]) as? [String: Any])
        #expect(verified["problem"] == nil || verified["problem"] is NSNull)
    }
}
