import CMKTesting
import Foundation
import Testing

/// `cmkctl sweep probe` through the real binary on the embedded default (SQLite + local KMS): a key
/// the customer disabled suspends its tenant, the key back reinstates it, and a tenant on a working key
/// is left alone.
@Suite struct SweepCLITests {
    func json(_ result: CLIRunner.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.stderr)")
    }

    func outcomes(_ result: CLIRunner.Result) throws -> [String: String] {
        let checks = try #require(try json(result)["checks"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: checks.map { ($0["tenant"] as? String ?? "?", $0["outcome"] as? String ?? "?") })
    }

    @Test func aDisabledKeySuspendsItsTenantAndTheKeyBackReinstatesIt() async throws {
        let scratch = try Scratch()
        // The operator's platform, checking every notice with the Standard Webhooks reference library.
        let secret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let receiver = try await WebhookReceiver(directory: scratch.url.path, secret: secret)
        defer { receiver.stop() }
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"notifications": {"url": "\#(receiver.url)", "secretFile": "../notification-secret"}}"#.utf8))
        var keys: [String: String] = [:]
        for tenant in ["acme", "globex"] {
            let created = try json(try CLIRunner.run(["kms", "create-key", "--alias", "\(tenant)-root", "--json"], in: scratch.url))
            keys[tenant] = try #require(created["arn"] as? String)
            let enrolled = try CLIRunner.run(["enroll", "--ticket", "SUP-\(tenant)", "--tenant", tenant, "--tag", tenant, "--key", keys[tenant]!],
                                             in: scratch.url)
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
        }
        _ = try scratch.write("report.txt", Array("numbers".utf8))
        #expect(try CLIRunner.run(["encrypt", "--tenant", "acme", "--input", "report.txt", "--output", "report.cmk"], in: scratch.url).status == 0)

        #expect(try CLIRunner.run(["kms", "disable", keys["acme"]!], in: scratch.url).status == 0)
        let first = try CLIRunner.run(["sweep", "probe", "--json"], in: scratch.url)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try outcomes(first) == ["acme": "suspended", "globex": "passed"])
        let refused = try CLIRunner.run(["decrypt", "--tenant", "acme", "--input", "report.cmk", "--output", "-"], in: scratch.url)
        #expect(refused.status == 77 && refused.stderr.contains("suspended"))
        let status = try CLIRunner.run(["status", "--tenant", "acme"], in: scratch.url)
        #expect(status.stdoutText.contains("suspended"))

        #expect(try CLIRunner.run(["kms", "enable", keys["acme"]!], in: scratch.url).status == 0)
        let second = try CLIRunner.run(["sweep", "probe"], in: scratch.url)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdoutText.contains("acme") && second.stdoutText.contains("reinstated"))
        let reopened = try CLIRunner.run(["decrypt", "--tenant", "acme", "--input", "report.cmk", "--output", "-"], in: scratch.url)
        #expect(reopened.status == 0 && reopened.stdoutText == "numbers")

        // One signed notice each, verified by the reference library; globex was never mentioned.
        // Each enrollment's re-encryption told its completion; then the revocation's two notices.
        let all = receiver.received()
        #expect(all.filter { $0.type == "tenant.reencryption.completed" }.count >= 1)
        let notices = all.filter { $0.type != "tenant.reencryption.completed" }
        #expect(notices.map(\.type) == ["tenant.suspended", "tenant.reinstated"])
        #expect(notices.filter(\.verified).count == 2)
        #expect(notices.compactMap { $0.field("tenant", inData: true) } == ["acme", "acme"])
        #expect(notices.first?.field("idempotencyKey") == notices.first?.id)
        #expect(notices.first.flatMap { String(data: $0.body, encoding: .utf8) }?.contains("\"verdict\":\"disabled\"") == true)
    }
}

/// `cmkctl revoke --dry-run`: the blast radius of a key, without touching anything.
@Suite struct RevokeDryRunCLITests {
    @Test func showsWhoWouldBeSuspendedAndChangesNothing() throws {
        let scratch = try Scratch()
        var keys: [String: String] = [:]
        for tenant in ["acme", "globex"] {
            let created = try JSONSerialization.jsonObject(with: try CLIRunner.run(["kms", "create-key", "--json"], in: scratch.url).stdout) as? [String: Any]
            keys[tenant] = try #require(created?["arn"] as? String)
            #expect(try CLIRunner.run(["enroll", "--ticket", "T-\(tenant)", "--tenant", tenant, "--tag", tenant, "--key", keys[tenant]!],
                                      in: scratch.url).status == 0)
        }
        let preview = try CLIRunner.run(["revoke", "--dry-run", "--key", keys["acme"]!, "--json"], in: scratch.url)
        #expect(preview.status == 0, "\(preview.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: preview.stdout) as? [String: Any])
        let tenants = try #require(document["tenants"] as? [[String: Any]])
        #expect(tenants.map { $0["tenant"] as? String } == ["acme"])
        #expect((tenants.first?["outcome"] as? String)?.hasPrefix("be suspended") == true)
        #expect(try CLIRunner.run(["status", "--tenant", "acme", "--json"], in: scratch.url).stdoutText.contains("\"active\""))

        let byTenant = try CLIRunner.run(["revoke", "--dry-run", "--tenant", "globex"], in: scratch.url)
        #expect(byTenant.status == 0 && byTenant.stdoutText.contains("globex") && !byTenant.stdoutText.contains("acme"))
        #expect(try CLIRunner.run(["revoke", "--key", keys["acme"]!], in: scratch.url).status == 64)
        #expect(try CLIRunner.run(["revoke", "--dry-run", "--key", "arn:aws:kms:local:000000000000:key/00000000-0000-0000-0000-000000000000"],
                                  in: scratch.url).status == 67)
    }
}

/// `cmkctl sweeps`: the sweep runs read back from the journal and the audit trail.
@Suite struct SweepsCLITests {
    @Test func aSweepRunIsListedWithWhatItFound() throws {
        let scratch = try Scratch()
        let created = try JSONSerialization.jsonObject(with: try CLIRunner.run(["kms", "create-key", "--json"], in: scratch.url).stdout) as? [String: Any]
        let key = try #require(created?["arn"] as? String)
        // The enrollment's re-encryption is the first row.
        let enrolled = try CLIRunner.run(["enroll", "--ticket", "T-1", "--tenant", "acme", "--tag", "acme", "--key", key], in: scratch.url)
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        let first = try CLIRunner.run(["sweeps"], in: scratch.url).stdoutText
        #expect(first.contains("reencrypt-acme-g1") && !first.contains("probe "), "\(first)")
        #expect(try CLIRunner.run(["kms", "disable", key], in: scratch.url).status == 0)
        #expect(try CLIRunner.run(["sweep", "probe"], in: scratch.url).status == 0)
        let listed = try CLIRunner.run(["sweeps", "--json"], in: scratch.url)
        #expect(listed.status == 0, "\(listed.stderr)")
        let runs = try #require(try JSONSerialization.jsonObject(with: listed.stdout) as? [[String: Any]])
        #expect(runs.map { $0["kind"] as? String } == ["probe", "reencrypt"])
        #expect(runs.first?["tenants"] as? Int == 1)
        #expect((runs.first?["affected"] as? [String]) == ["acme suspended"])
        #expect((runs.last?["outcomes"] as? [String: Int]) == ["completed": 1])

        // A backup sweep that did something is a row of its own: acme is suspended, so its backup is skipped.
        #expect(try CLIRunner.run(["sweep", "backup"], in: scratch.url).status == 0)
        let withBackup = try #require(try JSONSerialization.jsonObject(with: try CLIRunner.run(["sweeps", "--json"], in: scratch.url).stdout)
            as? [[String: Any]])
        #expect(withBackup.map { $0["kind"] as? String } == ["backup", "probe", "reencrypt"])
        #expect((withBackup.first?["run"] as? String)?.hasPrefix("backup-") == true)
        #expect((withBackup.first?["outcomes"] as? [String: Int]) == ["skipped": 1])
        #expect((withBackup.first?["affected"] as? [String]) == ["acme skipped"])
        let text = try CLIRunner.run(["sweeps"], in: scratch.url).stdoutText
        #expect(text.contains("backup") && text.contains("skipped 1") && text.contains("acme skipped"), "\(text)")
    }
}
