import CMKTesting
import Foundation
import Testing

/// `--store postgres://...` and `CMKCTL_STORE` through the real binary, against the suite's PostgreSQL.
@Suite struct PostgresStoreCLITests {
    func run(_ scratch: Scratch, _ arguments: [String], environment: [String: String] = [:]) throws -> CLIRunner.Result {
        var inherited = ProcessInfo.processInfo.environment
        inherited.removeValue(forKey: "CMKCTL_STORE")
        return try CLIRunner.run(arguments, in: scratch.url, environment: inherited.merging(environment) { $1 })
    }

    func json(_ result: CLIRunner.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.stderr)")
    }

    @Test func enrollStatusHistoryAuditAndExecutionsRunOnAPostgreSQLStore() throws {
        let url = try PostgresServer.shared(packageRoot: CLIRunner.packageRoot.path).freshDatabase("cli")
        let scratch = try Scratch()
        let created = try run(scratch, ["kms", "create-key", "--alias", "acme-root", "--json"])
        let key = try #require(try json(created)["arn"] as? String)

        let enrolled = try run(scratch, ["enroll", "--store", url, "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acme", "--json"])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        #expect((try json(enrolled)["status"] as? [String: Any])?["state"] as? String == "active")
        // Nothing of the store landed in the working directory: it is all in the database.
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent(".cmkctl/store.sqlite").path))

        // The same database through the environment variable.
        let status = try run(scratch, ["status", "--tenant", "acme"], environment: ["CMKCTL_STORE": url])
        #expect(status.status == 0 && status.stdoutText.contains("acme  active  generation 1"), "\(status.stdoutText)\(status.stderr)")
        let history = try run(scratch, ["history", "--tenant", "acme"], environment: ["CMKCTL_STORE": url])
        #expect(history.status == 0 && history.stdoutText.contains("ExecutionSucceeded"))
        let verify = try run(scratch, ["audit", "verify"], environment: ["CMKCTL_STORE": url])
        #expect(verify.status == 0 && verify.stdoutText.contains("audit chain intact"), "\(verify.stderr)")
        let executions = try run(scratch, ["executions", "list", "--store", url])
        #expect(executions.stdoutText.contains("enroll-acme-SUP-1") && executions.stdoutText.contains("succeeded"))

        // --store wins over the variable: a path there means the (missing) SQLite file.
        let missing = try run(scratch, ["status", "--store", "elsewhere.sqlite"], environment: ["CMKCTL_STORE": url])
        #expect(missing.status == 74 && missing.stderr.contains("elsewhere.sqlite"), "\(missing.status) \(missing.stderr)")
    }

    @Test(arguments: [
        ("postgres://", "no user"),
        ("postgres://cmkctl@/db", "no host"),
        ("postgres://cmkctl@127.0.0.1:5432", "no database"),
        ("postgres://cmkctl@127.0.0.1:5432/db?sslmode=maybe", "sslmode"),
        ("postgres://cmkctl@127.0.0.1:5432/db?search_path=x", "unknown parameter"),
    ])
    func aMalformedStoreURLIsRefusedBeforeConnecting(url: String, problem: String) throws {
        let result = try run(try Scratch(), ["status", "--store", url])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(problem), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func anUnreachableServerIsAStoreFailureThatNeverShowsThePassword() throws {
        let port = try LoopbackPort.free()
        let result = try run(try Scratch(), ["status", "--store", "postgres://cmkctl:hunter2secret@127.0.0.1:\(port)/cmkctl?sslmode=disable"])
        #expect(result.status == 74, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:\(port)/cmkctl"), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2secret"))
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
