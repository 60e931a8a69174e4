import CMKTesting
import Foundation
import GRDB
import Testing

/// `cmkctl sources check`: every configured source checked, problems with their fixes, exit 78
/// until they are fixed and 0 after.
@Suite struct SourcesCLITests {
    static let configuration = """
        {"dataSources": [
          {"name": "app", "kind": "sqlite", "path": "app.sqlite", "table": "documents",
           "idColumn": "id", "tenantColumn": "tenant_id", "columns": ["body"]},
          {"name": "blobs", "kind": "directory", "path": "../blobs"}
        ]}
        """

    @Test func problemsAreNamedWithTheirFixUntilFixed() async throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(Self.configuration.utf8))
        // The application's table, relative to the configuration file; no index on id yet.
        let queue = try DatabaseQueue(path: scratch.path(".cmkctl/app.sqlite"))
        try await queue.write { db in try db.execute(sql: "CREATE TABLE documents (id INTEGER, tenant_id TEXT, body BLOB)") }

        let failing = try CLIRunner.run(["sources", "check", "--json"], in: scratch.url)
        #expect(failing.status == 78, "\(failing.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: failing.stdout) as? [String: Any])
        #expect(report["ready"] as? Bool == false)
        let sources = try #require(report["sources"] as? [[String: Any]])
        #expect(sources.map { $0["name"] as? String } == ["app", "blobs"])
        func problems(_ source: [String: Any]) -> [String] {
            ((source["findings"] as? [[String: Any]]) ?? []).filter { $0["status"] as? String == "problem" }.compactMap { $0["subject"] as? String }
        }
        #expect(problems(sources[0]) == ["index on id"])
        #expect(problems(sources[1]) == ["reachable"])
        #expect((sources[0]["location"] as? String)?.hasPrefix(scratch.url.standardizedFileURL.path + "/.cmkctl/app.sqlite") == true)

        let text = try CLIRunner.run(["sources", "check"], in: scratch.url)
        #expect(text.status == 78)
        #expect(text.stdoutText.contains("fix: CREATE INDEX documents_tenant_id_id ON documents (tenant_id, id)"), "\(text.stdoutText)")
        #expect(text.stdoutText.contains("2 of 2 sources not ready"), "\(text.stdoutText)")

        try await queue.write { db in try db.execute(sql: "CREATE INDEX documents_id ON documents (id)") }
        try queue.close()
        try FileManager.default.createDirectory(atPath: scratch.path("blobs/acme"), withIntermediateDirectories: true)
        let ready = try CLIRunner.run(["sources", "check"], in: scratch.url)
        #expect(ready.status == 0, "\(ready.stdoutText)\(ready.stderr)")
        #expect(ready.stdoutText.contains("2 sources ready"))
        let one = try CLIRunner.run(["sources", "check", "--source", "blobs", "--json"], in: scratch.url)
        #expect(one.status == 0)
        #expect(((try JSONSerialization.jsonObject(with: one.stdout) as? [String: Any])?["sources"] as? [Any])?.count == 1)
        let unknown = try CLIRunner.run(["sources", "check", "--source", "nope"], in: scratch.url)
        #expect(unknown.status == 78 && unknown.stderr.contains("no data source named"), "\(unknown.stderr)")
    }

    @Test func aWrongConfigurationIsOneLineNamingTheFieldAndNoSourcesIsFine() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"dataSources": [{"name": "app", "kind": "sqlite", "path": "a"}]}"#.utf8))
        let wrong = try CLIRunner.run(["sources", "check"], in: scratch.url)
        #expect(wrong.status == 78)
        #expect(wrong.stderr.contains("dataSources[0].table is missing"), "\(wrong.stderr)")
        #expect(wrong.stdout.isEmpty)

        _ = try scratch.write(".cmkctl/operator.json", Array("{}".utf8))
        let none = try CLIRunner.run(["sources", "check"], in: scratch.url)
        #expect(none.status == 0)
        #expect(none.stdoutText.contains("no data sources"))
    }
}
