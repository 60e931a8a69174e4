import CMKTesting
import Foundation
import Testing

/// What this wave added around the lifecycle, through the real binary: the operator hears once that an
/// enrollment waits for the customer, and a probe covers an older generation only while the ledger
/// counts items under it.
@Suite struct LifecycleNoticeCLITests {
    func run(_ arguments: [String], _ scratch: Scratch, status: Int32 = 0) throws -> CLIRunner.Result {
        let result = try CLIRunner.run(arguments, in: scratch.url)
        #expect(result.status == status, "cmkctl \(arguments.joined(separator: " ")): \(result.status) \(result.stderr)")
        return result
    }

    func arn(_ result: CLIRunner.Result) throws -> String {
        try #require((try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])?["arn"] as? String)
    }

    @Test func anEnrollmentWaitingForTheCustomerIsToldOnce() async throws {
        let scratch = try Scratch()
        let secret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let receiver = try await WebhookReceiver(directory: scratch.url.path, secret: secret)
        defer { receiver.stop() }
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"notifications": {"url": "\#(receiver.url)", "secretFile": "../notification-secret"}}"#.utf8))
        let key = try arn(try run(["kms", "create-key", "--alias", "globex-root", "--json"], scratch))
        _ = try run(["kms", "disable", key], scratch)
        _ = try run(["enroll", "--ticket", "SUP-7", "--tenant", "globex", "--tag", "globex", "--key", key], scratch, status: 2)
        // The re-check (a signal here) finds the key still disabled: the customer is not asked twice.
        _ = try run(["signal", "enroll-globex-SUP-7", "--payload", #"{"note":"not yet"}"#], scratch)
        _ = try run(["worker", "--until-idle"], scratch)
        let notices = receiver.received().filter { !$0.failed }
        #expect(notices.map(\.type) == ["tenant.enrollment.awaiting-customer"])
        #expect(notices.first?.verified == true)
        #expect(notices.first?.field("tenant", inData: true) == "globex")
        #expect(notices.first?.field("waitingFor", inData: true)?.contains("disabled") == true, "\(notices.first.map { String(decoding: $0.body, as: UTF8.self) } ?? "")")
    }

    @Test func aProbeCoversAnOlderGenerationWhileTheLedgerCountsItemsUnderIt() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"dataSources": [{"name": "blobs", "kind": "directory", "path": "../blobs"}]}"#.utf8))
        let first = try arn(try run(["kms", "create-key", "--alias", "acme-one", "--json"], scratch))
        _ = try run(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--tag", "acme", "--key", first], scratch)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("blobs/acme"), withIntermediateDirectories: true)
        _ = try scratch.write("plain.txt", Array("kept".utf8))
        _ = try run(["encrypt", "--tenant", "acme", "--input", "plain.txt", "--output", "under-one.msg"], scratch)
        let second = try arn(try run(["kms", "create-key", "--alias", "acme-two", "--json"], scratch))
        _ = try run(["rotate", "--ticket", "SUP-2", "--tenant", "acme", "--key", second], scratch)
        // The customer disables the old key: nothing is under generation 1, so nothing is lost.
        _ = try run(["kms", "disable", first], scratch)
        let passed = try run(["sweep", "probe", "--json"], scratch)
        #expect(passed.stdoutText.contains("\"outcome\" : \"passed\""), "\(passed.stdoutText)")
        // An item under generation 1 turns up and the ledger counts it: the disabled key now revokes data.
        try Data(contentsOf: scratch.url.appendingPathComponent("under-one.msg")).write(to: scratch.url.appendingPathComponent("blobs/acme/late.msg"))
        _ = try run(["ledger", "--tenant", "acme", "--verify"], scratch, status: 1)
        let suspended = try run(["sweep", "probe", "--json"], scratch)
        #expect(suspended.stdoutText.contains("\"outcome\" : \"suspended\""), "\(suspended.stdoutText)")
        let history = try run(["history", "--tenant", "acme"], scratch)
        #expect(history.stdoutText.contains("generation=1") || history.stdoutText.contains("\"generation\":\"1\""), "\(history.stdoutText.suffix(1500))")
    }

    @Test func offboardingIsManualByTicketAndRefusesTheTenantsData() throws {
        let scratch = try Scratch()
        let key = try arn(try run(["kms", "create-key", "--alias", "acme-root", "--json"], scratch))
        _ = try run(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--tag", "acme", "--key", key], scratch)
        _ = try scratch.write("plain.txt", Array("last words".utf8))
        _ = try run(["encrypt", "--tenant", "acme", "--input", "plain.txt", "--output", "acme.msg"], scratch)
        _ = try run(["offboard", "--tenant", "nobody", "--ticket", "SUP-2"], scratch, status: 67)
        _ = try run(["offboard", "--tenant", "acme", "--ticket", "bad ticket!"], scratch, status: 64)
        let done = try run(["offboard", "--tenant", "acme", "--ticket", "SUP-2"], scratch)
        #expect(done.stdoutText.contains("acme offboarded (ticket SUP-2)"))
        #expect(try run(["offboard", "--tenant", "acme", "--ticket", "SUP-2"], scratch).stdoutText.contains("offboarded already"))
        let refused = try run(["decrypt", "--tenant", "acme", "--input", "acme.msg", "--output", "-"], scratch, status: 77)
        #expect(refused.stderr.contains("offboarded"), "\(refused.stderr)")
        let audit = try run(["audit", "export", "--tenant", "acme"], scratch)
        #expect(audit.stdoutText.contains("active -> offboarded") && audit.stdoutText.contains("SUP-2"))
    }

    @Test func aRotationToADisabledKeyWaitsForTheCustomerWhileTheTenantStaysActive() throws {
        let scratch = try Scratch()
        let first = try arn(try run(["kms", "create-key", "--alias", "acme-one", "--json"], scratch))
        _ = try run(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--tag", "acme", "--key", first], scratch)
        let second = try arn(try run(["kms", "create-key", "--alias", "acme-two", "--json"], scratch))
        _ = try run(["kms", "disable", second], scratch)
        let waiting = try run(["rotate", "--ticket", "SUP-2", "--tenant", "acme", "--key", second], scratch, status: 2)
        #expect(waiting.stdoutText.contains("acme  active  generation 1"), "\(waiting.stdoutText)")
        _ = try scratch.write("plain.txt", Array("still served".utf8))
        _ = try run(["encrypt", "--tenant", "acme", "--input", "plain.txt", "--output", "meanwhile.msg"], scratch)
        // The customer enables the key; support signals; the rotation finishes on generation 2.
        _ = try run(["kms", "enable", second], scratch)
        _ = try run(["signal", "rotate-acme-SUP-2", "--payload", #"{"fixed":true}"#], scratch)
        _ = try run(["worker", "--until-idle"], scratch)
        let status = try run(["status", "--tenant", "acme"], scratch)
        #expect(status.stdoutText.contains("acme  active  generation 2"), "\(status.stdoutText)")
        let read = try run(["decrypt", "--tenant", "acme", "--input", "meanwhile.msg", "--output", "-"], scratch)
        #expect(read.stdoutText == "still served")
    }
}
