import CMKTesting
import Foundation
import GRDB
import Testing

/// Re-encryption through the real binary on the embedded default (SQLite store, local KMS, a
/// directory data source): the dry run, the enrollment's hand-over, the ledger, a rotation, the
/// retirement gate refusing while an item is behind and allowing once `reencrypt` moved it, and a
/// retired generation's keys no longer decrypting.
@Suite struct ReencryptCLITests {
    func json(_ result: CLIRunner.Result) throws -> Any {
        try JSONSerialization.jsonObject(with: result.stdout)
    }

    func run(_ arguments: [String], _ scratch: Scratch, status: Int32 = 0) throws -> CLIRunner.Result {
        let result = try CLIRunner.run(arguments, in: scratch.url)
        #expect(result.status == status, "cmkctl \(arguments.joined(separator: " ")): \(result.status) \(result.stderr)")
        return result
    }

    @Test func enrollmentRotationLedgerAndTheRetirementGate() async throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"dataSources": [{"name": "blobs", "kind": "directory", "path": "../blobs"}], "reencryption": {"batchSize": 4}}"#.utf8))
        _ = try run(["kms", "create-key", "--alias", "cmkctl-provider"], scratch)
        _ = try run(["tenants", "add", "--tenant", "acme", "--tag", "acme"], scratch)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("blobs/acme/docs"), withIntermediateDirectories: true)
        for number in 1...9 {
            _ = try scratch.write("plain-\(number).txt", Array("document \(number)".utf8))
            _ = try run(["encrypt", "--tenant", "acme", "--input", "plain-\(number).txt", "--output", "blobs/acme/docs/\(number).msg"], scratch)
        }
        // On the provider key nothing is behind.
        let before = try #require(try json(try run(["reencrypt", "--tenant", "acme", "--dry-run", "--json"], scratch)) as? [String: Any])
        #expect(before["itemsToMove"] as? Int == 0)

        let first = try #require(try json(try run(["kms", "create-key", "--alias", "acme-one", "--json"], scratch)) as? [String: Any])["arn"] as? String
        _ = try run(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--tag", "acme", "--key", try #require(first)], scratch)
        let status = try #require((try json(try run(["status", "--tenant", "acme", "--json"], scratch)) as? [[String: Any]])?.first)
        #expect(status["state"] as? String == "active")
        let reencryption = try #require(status["reencryption"] as? [String: Any])
        #expect(reencryption["status"] as? String == "completed")
        #expect((reencryption["progress"] as? [String: Any])?["rewrapped"] as? Int == 9)
        let ledger = try #require(try json(try run(["ledger", "--tenant", "acme", "--json"], scratch)) as? [String: Any])
        #expect((ledger["rows"] as? [[String: Any]])?.map { "\($0["source"]!) g\($0["generation"]!)=\($0["items"]!)" } == ["blobs g1=9"])
        _ = try run(["generations", "retire", "--tenant", "acme", "--generation", "1"], scratch, status: 64)
        // A backup under generation 1, which the rotation's completed re-encryption will disable.
        let backup = try #require(try json(try run(["backup", "--tenant", "acme", "--json"], scratch)) as? [String: Any])
        let backupID = try #require((backup["entry"] as? [String: Any] ?? backup)["id"] as? String)
        let keepsOne = try Data(contentsOf: scratch.url.appendingPathComponent("blobs/acme/docs/1.msg"))

        // A rotation moves everything to generation 2; an item an application kept under 1 blocks retiring 1.
        let second = try #require(try json(try run(["kms", "create-key", "--alias", "acme-two", "--json"], scratch)) as? [String: Any])["arn"] as? String
        _ = try run(["rotate", "--ticket", "SUP-2", "--tenant", "acme", "--key", try #require(first)], scratch, status: 64)
        let rotated = try run(["rotate", "--ticket", "SUP-2", "--tenant", "acme", "--key", try #require(second)], scratch)
        #expect(rotated.stdoutText.contains("active  generation 2"), "\(rotated.stdoutText)")
        let backups = try #require(try json(try run(["backups", "--tenant", "acme", "--json"], scratch)) as? [[String: Any]])
        #expect(backups.first { $0["id"] as? String == backupID }?["status"] as? String == "disabled", "\(backups)")
        let restore = try run(["restore", "--tenant", "acme", "--backup", backupID], scratch, status: 4)
        #expect(restore.stderr.contains("disabled"), "\(restore.stderr)")
        // A restorable backup under generation 1 (one written by a process that raced the completion) blocks retiring 1.
        let store = try DatabaseQueue(path: scratch.url.appendingPathComponent(".cmkctl/store.sqlite").path)
        try await store.write { db in
            try db.execute(sql: """
                INSERT INTO backups (id, tenant, generation, created_at, items, bytes, sha256, file_name, status, reason)
                SELECT 'raced-backup', tenant, generation, created_at, items, bytes, sha256, file_name, 'available', NULL FROM backups WHERE id = ?
                """, arguments: [backupID])
        }
        let blockedByBackup = try run(["generations", "retire", "--tenant", "acme", "--generation", "1"], scratch, status: 4)
        #expect(blockedByBackup.stderr.contains("restorable backups: raced-backup"), "\(blockedByBackup.stderr)")
        try await store.write { db in try db.execute(sql: "UPDATE backups SET status = 'disabled', reason = 'test' WHERE id = 'raced-backup'") }
        try store.close()
        try keepsOne.write(to: scratch.url.appendingPathComponent("blobs/acme/docs/late.msg"))
        let dryRun = try run(["reencrypt", "--tenant", "acme", "--dry-run"], scratch)
        #expect(dryRun.stdoutText.contains("blobs  generation 1  1 item(s)  would move"), "\(dryRun.stdoutText)")
        let refused = try run(["generations", "retire", "--tenant", "acme", "--generation", "1"], scratch, status: 4)
        #expect(refused.stderr.contains("items under it: 1 in blobs"), "\(refused.stderr)")
        let verify = try run(["ledger", "--tenant", "acme", "--verify"], scratch, status: 0)
        #expect(verify.stdoutText.contains("the ledger matched"), "the refused retirement already corrected the ledger: \(verify.stdoutText)")

        // reencrypt moves it (plain progress lines when stdout is not a terminal), then retiring is allowed.
        let moved = try run(["reencrypt", "--tenant", "acme", "--follow"], scratch)
        #expect(moved.stdoutText.contains("progress "), "\(moved.stdoutText)")
        #expect(moved.stdoutText.contains("completed"), "\(moved.stdoutText)")
        _ = try run(["generations", "retire", "--tenant", "acme", "--generation", "1"], scratch)
        _ = try run(["generations", "retire", "--tenant", "acme", "--generation", "0"], scratch)
        let generations = try #require(try json(try run(["generations", "--tenant", "acme", "--json"], scratch)) as? [[String: Any]])
        #expect(generations.map { $0["retiredAt"] != nil && !($0["retiredAt"] is NSNull) } == [true, true, false])
        #expect(generations.map { $0["items"] as? Int } == [0, 0, 10])

        // Every item opens under generation 2; a copy kept outside the source under the retired generation does not.
        for name in (1...9).map(String.init) + ["late"] {
            let opened = try run(["decrypt", "--tenant", "acme", "--input", "blobs/acme/docs/\(name).msg", "--output", "-"], scratch)
            #expect(opened.stdoutText == "document \(name == "late" ? "1" : name)")
        }
        _ = try scratch.write("kept-under-1.msg", Array(keepsOne))
        _ = try run(["decrypt", "--tenant", "acme", "--input", "kept-under-1.msg", "--output", "-"], scratch, status: 65)
        let sweep = try run(["sweep", "reencrypt"], scratch)
        #expect(sweep.stdoutText.contains("no re-encryption pending"))
    }
}
