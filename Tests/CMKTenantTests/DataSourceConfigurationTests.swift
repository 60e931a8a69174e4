import CMKTenant
import Foundation
import Testing

/// `dataSources` in the operator configuration: the documented shape, strict per kind, with errors
/// that name the field, and relative paths that start at the configuration file's folder.
@Suite struct DataSourceConfigurationTests {
    static let documented = """
        {"dataSources": [
          {"name": "app", "kind": "sqlite", "path": "app.sqlite", "table": "documents",
           "idColumn": "id", "tenantColumn": "tenant_id", "columns": ["body"]},
          {"name": "ledger-db", "kind": "postgres", "url": "postgres://app@127.0.0.1:5432/app",
           "table": "notes", "idColumn": "id", "tenantColumn": "tenant", "columns": ["text", "attachment"]},
          {"name": "blobs", "kind": "directory", "path": "blobs"}
        ]}
        """

    /// Writes `json` as `<tmp>/conf/operator.json` and loads it.
    static func load(_ json: String) throws -> (OperatorConfiguration, String) {
        let directory = NSTemporaryDirectory() + "sources-config-" + UUID().uuidString + "/conf"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/operator.json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return (try OperatorConfiguration.load(path: path), directory)
    }

    static func refusal(_ json: String) -> String {
        do {
            _ = try load(json)
            return "accepted"
        } catch let error as TenantError {
            #expect(error.code == .configuration)
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func theDocumentedShapeLoadsWithPathsAgainstTheConfigurationFolder() throws {
        let (configuration, folder) = try Self.load(Self.documented)
        let resolvedFolder = URL(fileURLWithPath: folder).standardizedFileURL.path
        #expect(configuration.dataSources.count == 3)
        #expect(configuration.dataSources[0] == DataSourceConfiguration(name: "app", location: .sqlite(
            path: resolvedFolder + "/app.sqlite",
            layout: .init(table: "documents", idColumn: "id", tenantColumn: "tenant_id", columns: ["body"]))))
        #expect(configuration.dataSources[1] == DataSourceConfiguration(name: "ledger-db", location: .postgres(
            url: "postgres://app@127.0.0.1:5432/app",
            layout: .init(table: "notes", idColumn: "id", tenantColumn: "tenant", columns: ["text", "attachment"]))))
        #expect(configuration.dataSources[2] == DataSourceConfiguration(name: "blobs", location: .directory(path: resolvedFolder + "/blobs")))
        // An absolute path stays as written; a configuration without sources has none.
        let (absolute, _) = try Self.load(#"{"dataSources": [{"name": "b", "kind": "directory", "path": "/srv/blobs"}]}"#)
        #expect(absolute.dataSources[0].location == .directory(path: "/srv/blobs"))
        #expect(try Self.load("{}").0.dataSources == [])
        // It encodes back to the same shape.
        let encoded = try JSONEncoder().encode(configuration.dataSources[1])
        #expect(try JSONDecoder().decode(DataSourceConfiguration.self, from: encoded) == configuration.dataSources[1])
    }

    @Test(arguments: [
        (#"{"name": "a", "kind": "mysql", "path": "x"}"#, "dataSources[0].kind must be one of sqlite, postgres, directory"),
        (#"{"name": "a", "path": "x"}"#, "dataSources[0].kind is missing"),
        (#"{"name": "a", "kind": "directory"}"#, "dataSources[0].path is missing"),
        (#"{"name": "a", "kind": "directory", "path": "x", "url": "postgres://u@h/d"}"#, "dataSources[0]: unknown field \"url\" for a directory source"),
        (#"{"name": "a", "kind": "sqlite", "path": "x", "table": "t", "idColumn": "id", "tenantColumn": "tenant"}"#, "dataSources[0].columns is missing"),
        (#"{"name": "a", "kind": "sqlite", "path": "x", "table": "t", "idColumn": "id", "tenantColumn": "tenant", "columns": "body"}"#, "dataSources[0].columns must be a list of strings"),
        (#"{"name": "a", "kind": "sqlite", "path": "x", "table": "t; DROP", "idColumn": "id", "tenantColumn": "tenant", "columns": ["body"]}"#, "dataSources[0].table must be an SQL identifier"),
        (#"{"name": "a", "kind": "sqlite", "path": "x", "table": "t", "idColumn": "id", "tenantColumn": "tenant", "columns": []}"#, "dataSources[0].columns must list at least one"),
        (#"{"name": "a", "kind": "sqlite", "path": "x", "table": "t", "idColumn": "id", "tenantColumn": "tenant", "columns": ["body", "body"]}"#, "dataSources[0].columns[1] must be listed once"),
        (#"{"name": "a", "kind": "sqlite", "path": "x", "table": "t", "idColumn": "id", "tenantColumn": "tenant", "columns": ["id"]}"#, "dataSources[0].columns[0] must be a column other than idColumn"),
        (#"{"name": "a", "kind": "postgres", "url": "mysql://u:secret@h/d", "table": "t", "idColumn": "id", "tenantColumn": "tenant", "columns": ["b"]}"#, "dataSources[0].url must be a postgres://"),
        (#"{"name": "a b", "kind": "directory", "path": "x"}"#, "dataSources[0].name must be 1 to 64 letters"),
        (#""blobs""#, "dataSources[0] must be an object"),
    ])
    func aWrongSourceIsRefusedNamingItsField(source: String, expected: String) {
        let message = Self.refusal(#"{"dataSources": ["# + source + "]}")
        #expect(message.contains(expected), "\(message)")
        #expect(!message.contains("secret"), "a password must not be echoed")
    }

    @Test func namesAreUniqueAndTheListIsAList() {
        let twice = Self.refusal(#"{"dataSources": [{"name": "a", "kind": "directory", "path": "x"}, {"name": "a", "kind": "directory", "path": "y"}]}"#)
        #expect(twice.contains("dataSources[1].name must be unique"), "\(twice)")
        let notAList = Self.refusal(#"{"dataSources": {"name": "a"}}"#)
        #expect(notAList.contains("dataSources must be a list of data source objects"), "\(notAList)")
    }
}
