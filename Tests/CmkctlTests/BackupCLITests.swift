import CMKTesting
import Foundation
import GRDB
import Testing

/// `cmkctl backup`, `backups`, `restore` and `sweep backup` through the real binary on the embedded
/// default (SQLite store, local KMS) with a SQLite table and a directory of message files.
@Suite struct BackupCLITests {
    static let configuration = """
        {"dataSources": [
          {"name": "app", "kind": "sqlite", "path": "app.sqlite", "table": "documents",
           "idColumn": "id", "tenantColumn": "tenant_id", "columns": ["body"]},
          {"name": "blobs", "kind": "directory", "path": "../blobs"}
        ]}
        """

    func json(_ result: CLIRunner.Result) throws -> Any {
        try JSONSerialization.jsonObject(with: result.stdout)
    }

    /// Encrypts `text` for `tenant` through the CLI; the message bytes.
    func encrypt(_ text: String, tenant: String, scratch: Scratch) throws -> [UInt8] {
        _ = try scratch.write("plain.txt", Array(text.utf8))
        let result = try CLIRunner.run(["encrypt", "--tenant", tenant, "--input", "plain.txt", "--output", "message.cmk"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.path("message.cmk"))))
    }

    @Test func backupRestoreAndTheirRefusals() async throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(Self.configuration.utf8))
        let queue = try DatabaseQueue(path: scratch.path(".cmkctl/app.sqlite"))
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE documents (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, body BLOB)")
        }
        var keys: [String: String] = [:]
        for tenant in ["acme", "beta", "gamma"] {
            let created = try #require(try json(try CLIRunner.run(["kms", "create-key", "--alias", "\(tenant)-root", "--json"], in: scratch.url)) as? [String: Any])
            keys[tenant] = try #require(created["arn"] as? String)
            let enrolled = try CLIRunner.run(["enroll", "--ticket", "SUP-\(tenant)", "--tenant", tenant, "--tag", tenant, "--key", keys[tenant]!],
                                             in: scratch.url)
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
        }
        // acme: two rows and a file; beta: one row.
        let rows: [(Int, String, String)] = [(1, "acme", "first row"), (2, "acme", "second row"), (3, "beta", "beta's row")]
        var stored: [Int: [UInt8]] = [:]
        for (id, tenant, text) in rows {
            let message = try encrypt(text, tenant: tenant, scratch: scratch)
            stored[id] = message
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO documents (id, tenant_id, body) VALUES (?, ?, ?)", arguments: [id, tenant, Data(message)])
            }
        }
        let file = try encrypt("a report", tenant: "acme", scratch: scratch)
        try FileManager.default.createDirectory(atPath: scratch.path("blobs/acme/2026"), withIntermediateDirectories: true)
        _ = try scratch.write("blobs/acme/2026/report.msg", file)

        let backup = try CLIRunner.run(["backup", "--tenant", "acme", "--json"], in: scratch.url)
        #expect(backup.status == 0, "\(backup.stderr)")
        let entry = try #require(try json(backup) as? [String: Any])
        let id = try #require(entry["id"] as? String)
        #expect(entry["items"] as? Int == 3)
        #expect(entry["generation"] as? Int == 1)
        #expect(entry["status"] as? String == "available")
        let path = try #require(entry["file"] as? String)
        #expect(path.hasPrefix(scratch.url.standardizedFileURL.path + "/.cmkctl/backups/acme/"), "\(path)")
        #expect(FileManager.default.fileExists(atPath: path))

        let listed = try CLIRunner.run(["backups"], in: scratch.url)
        #expect(listed.status == 0)
        #expect(listed.stdoutText.contains("STATUS") && listed.stdoutText.contains(id) && listed.stdoutText.contains("available"), "\(listed.stdoutText)")

        // The file and a row go, another row changes; the dry run counts and writes nothing.
        try FileManager.default.removeItem(atPath: scratch.path("blobs/acme/2026/report.msg"))
        let later = try encrypt("a later write", tenant: "acme", scratch: scratch)
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM documents WHERE id = 1")
            try db.execute(sql: "UPDATE documents SET body = ? WHERE id = 2", arguments: [Data(later)])
        }
        let dryRun = try CLIRunner.run(["restore", "--tenant", "acme", "--backup", id, "--dry-run", "--json"], in: scratch.url)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        let preview = try #require(try json(dryRun) as? [String: Any])
        let counts = try #require(preview["sources"] as? [[String: Any]])
        #expect(counts.map { $0["source"] as? String } == ["app", "blobs"])
        #expect(counts.map { $0["created"] as? Int } == [1, 1])
        #expect(counts.map { $0["updated"] as? Int } == [1, 0])
        #expect(!FileManager.default.fileExists(atPath: scratch.path("blobs/acme/2026/report.msg")))

        let restored = try CLIRunner.run(["restore", "--tenant", "acme", "--backup", id], in: scratch.url)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stdoutText.contains("restored backup \(id) into acme"), "\(restored.stdoutText)")
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.path("blobs/acme/2026/report.msg")))) == file)
        for id in [1, 2] {
            let body = try await queue.read { db in try Data.fetchOne(db, sql: "SELECT body FROM documents WHERE id = ?", arguments: [id]) }
            #expect(body.map { [UInt8]($0) } == stored[id], "row \(id)")
        }
        let decrypted = try CLIRunner.run(["decrypt", "--tenant", "acme", "--input", "blobs/acme/2026/report.msg", "--output", "-"], in: scratch.url)
        #expect(decrypted.stdoutText == "a report")

        // Refusals: another tenant (4), a malformed id (64), an unknown one (67), a changed file (65).
        let other = try CLIRunner.run(["restore", "--tenant", "beta", "--backup", id], in: scratch.url)
        #expect(other.status == 4 && other.stderr.contains("is of tenant acme"), "\(other.stderr)")
        #expect(try CLIRunner.run(["restore", "--tenant", "acme", "--backup", "../etc"], in: scratch.url).status == 64)
        let unknown = try CLIRunner.run(["restore", "--tenant", "acme", "--backup", "bk-20260101T000000Z-00000000"], in: scratch.url)
        #expect(unknown.status == 67, "\(unknown.stderr)")
        var tampered = try Data(contentsOf: URL(fileURLWithPath: path))
        tampered[tampered.count / 2] ^= 0x40
        try tampered.write(to: URL(fileURLWithPath: path))
        let damaged = try CLIRunner.run(["restore", "--tenant", "acme", "--backup", id, "--dry-run"], in: scratch.url)
        #expect(damaged.status == 65 && damaged.stderr.contains("does not match its catalogue digest"), "\(damaged.stderr)")

        // gamma's key is revoked: the probe sweep suspends it, its backup is refused (4), and the backup
        // sweep records it skipped while backing up beta; acme's backup is not due.
        #expect(try CLIRunner.run(["kms", "disable", keys["gamma"]!], in: scratch.url).status == 0)
        #expect(try CLIRunner.run(["sweep", "probe"], in: scratch.url).status == 0)
        let refused = try CLIRunner.run(["backup", "--tenant", "gamma"], in: scratch.url)
        #expect(refused.status == 4 && refused.stderr.contains("suspended"), "\(refused.stderr)")
        let sweep = try CLIRunner.run(["sweep", "backup", "--json"], in: scratch.url)
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let outcomes = try #require((try json(sweep) as? [String: Any])?["backups"] as? [[String: Any]])
        #expect(outcomes.map { $0["tenant"] as? String } == ["acme", "beta", "gamma"])
        #expect(outcomes.map { $0["outcome"] as? String } == ["not-due", "backed-up", "skipped"])
        let gamma = try #require(try json(try CLIRunner.run(["backups", "--tenant", "gamma", "--json"], in: scratch.url)) as? [[String: Any]])
        #expect(gamma.map { $0["status"] as? String } == ["skipped"])
        #expect((gamma.first?["reason"] as? String)?.contains("suspended") == true)
        try queue.close()
    }

    @Test func helpExplainsTheGates() throws {
        let help = try CLIRunner.run(["restore", "--help"])
        #expect(help.status == 0)
        #expect(help.stdoutText.contains("--dry-run") && help.stdoutText.contains("SHA-256") && help.stdoutText.contains("disabled"))
        let backup = try CLIRunner.run(["backup", "--help"])
        #expect(backup.stdoutText.contains("re-encrypting"))
        let sweep = try CLIRunner.run(["sweep", "backup", "--help"])
        #expect(sweep.stdoutText.contains("schedules.backupSeconds"))
    }
}
