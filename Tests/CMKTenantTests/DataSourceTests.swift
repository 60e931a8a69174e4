import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKTesting
import Foundation
import GRDB
import Testing

/// The data-source seam on its three implementations: pages in id order, compare-and-swap that never
/// overwrites an application's write, and checks that say what to fix.
@Suite struct DataSourceTests {
    enum Kind: String, CaseIterable, CustomStringConvertible {
        case sqlite, postgres, directory
        var description: String { rawValue }
    }

    /// An application's store of one kind, written around the product (the application's own connection).
    struct Application {
        let kind: Kind
        let directory: String
        let configuration: DataSourceConfiguration
        let columns: [String]
        private let server: PostgresServer?
        private let database: String?

        init(_ kind: Kind, table: String = "documents", create: String? = nil) async throws {
            self.kind = kind
            directory = NSTemporaryDirectory() + "data-source-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let ddl = create ?? "CREATE TABLE documents (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, body BLOB, attachment BLOB)"
            let layout = DataSourceConfiguration.TableLayout(table: table, idColumn: "id", tenantColumn: "tenant_id", columns: ["body", "attachment"])
            switch kind {
            case .sqlite:
                let queue = try DatabaseQueue(path: directory + "/app.sqlite")
                try await queue.write { db in try db.execute(sql: ddl) }
                try queue.close()
                configuration = DataSourceConfiguration(name: "app", location: .sqlite(path: directory + "/app.sqlite", layout: layout))
                columns = layout.columns
                server = nil
                database = nil
            case .postgres:
                let server = try PostgresServer.shared(packageRoot: TenantHarness.packageRoot)
                let url = try server.freshDatabase("source")
                let database = String(url.split(separator: "/").last!)
                try server.sql(ddl.replacingOccurrences(of: "INTEGER PRIMARY KEY", with: "BIGINT PRIMARY KEY")
                                  .replacingOccurrences(of: "BLOB", with: "BYTEA"), database: database)
                configuration = DataSourceConfiguration(name: "app", location: .postgres(url: url, layout: layout))
                columns = layout.columns
                self.server = server
                self.database = database
            case .directory:
                try FileManager.default.createDirectory(atPath: directory + "/blobs", withIntermediateDirectories: true)
                configuration = DataSourceConfiguration(name: "blobs", location: .directory(path: directory + "/blobs"))
                columns = [DirectoryDataSource.column]
                server = nil
                database = nil
            }
        }

        func open() async throws -> any DataSource {
            switch kind {
            case .sqlite: try SQLiteDataSource(configuration: configuration)
            case .postgres: try await PostgresDataSource.open(configuration)
            case .directory: try DirectoryDataSource(configuration: configuration)
            }
        }

        /// The id of row `number` as the source reports it.
        func id(_ number: Int, tenant: String) -> ItemID {
            kind == .directory ? .text("\(tenant)/\(number % 3)/item-\(String(format: "%04d", number))") : .integer(Int64(number))
        }

        /// Writes one row (a file per value for a directory: the first value only).
        func insert(_ number: Int, tenant: String, values: [[UInt8]?]) async throws {
            switch kind {
            case .sqlite:
                let queue = try DatabaseQueue(path: directory + "/app.sqlite")
                try await queue.write { db in
                    try db.execute(sql: "INSERT INTO documents (id, tenant_id, body, attachment) VALUES (?, ?, ?, ?)",
                                   arguments: [number, tenant, values[0].map { Data($0) }, values[1].map { Data($0) }])
                }
                try queue.close()
            case .postgres:
                func literal(_ value: [UInt8]?) -> String { value.map { "'\\x" + $0.map { String(format: "%02x", $0) }.joined() + "'::bytea" } ?? "NULL" }
                try server!.sql("INSERT INTO documents (id, tenant_id, body, attachment) VALUES (\(number), '\(tenant)', \(literal(values[0])), \(literal(values[1])))",
                                database: database)
            case .directory:
                guard let value = values[0] else { return }
                let path = directory + "/blobs/" + id(number, tenant: tenant).description
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(value).write(to: URL(fileURLWithPath: path))
            }
        }

        func sql(_ statement: String) async throws {
            switch kind {
            case .sqlite:
                let queue = try DatabaseQueue(path: directory + "/app.sqlite")
                try await queue.write { db in try db.execute(sql: statement) }
                try queue.close()
            case .postgres:
                try server!.sql(statement, database: database)
            case .directory:
                Issue.record("no SQL on a directory")
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func value(_ number: Int, _ column: Int) -> [UInt8] { Array("message \(number).\(column)".utf8) + [0, 0xFF, UInt8(number % 256)] }

    @Test(arguments: Kind.allCases)
    func pagesCoverEveryItemOfTheTenantOnceInIDOrder(kind: Kind) async throws {
        let application = try await Application(kind)
        defer { application.remove() }
        var expected: [DataSourceItem] = []
        for number in 1...20 {
            let tenant = number % 4 == 0 ? "globex" : "acme"
            // Every fifth row has no body, every seventh nothing at all.
            var values: [[UInt8]?] = [number % 5 == 0 ? nil : Self.value(number, 0), number % 2 == 0 ? Self.value(number, 1) : nil]
            if number % 7 == 0 { values = [nil, nil] }
            try await application.insert(number, tenant: tenant, values: values)
            guard tenant == "acme" else { continue }
            for (index, column) in application.columns.enumerated() {
                if let bytes = values[index] { expected.append(DataSourceItem(id: application.id(number, tenant: tenant), column: column, ciphertext: bytes)) }
                if application.kind == .directory { break }
            }
        }
        if kind == .directory {
            expected.sort { Array($0.id.description.utf8).lexicographicallyPrecedes(Array($1.id.description.utf8)) }
        }
        let source = try await application.open()
        defer { Task { await source.close() } }
        var seen: [DataSourceItem] = []
        var cursor: ItemID?
        var pages = 0
        while true {
            let batch = try await source.batch(tenant: "acme", after: cursor, limit: 3)
            guard let last = batch.last else {
                #expect(batch.items.isEmpty)
                break
            }
            seen += batch.items
            cursor = last
            pages += 1
        }
        #expect(seen == expected)
        // 15 rows of acme (10 files in the directory, which has no file for a row without a body), 3 a page.
        #expect(pages == (kind == .directory ? 4 : 5))
        #expect(try await source.batch(tenant: "initech", after: nil, limit: 10) == DataSourceBatch(items: [], last: nil))
    }

    @Test(arguments: Kind.allCases)
    func compareAndSwapReplacesOnlyWhatItRead(kind: Kind) async throws {
        let application = try await Application(kind)
        defer { application.remove() }
        try await application.insert(1, tenant: "acme", values: [Self.value(1, 0), Self.value(1, 1)])
        let source = try await application.open()
        defer { Task { await source.close() } }
        let id = application.id(1, tenant: "acme")
        let column = application.columns[0]
        let rewritten = Array("rewritten".utf8) + [0, 1, 2]
        #expect(try await source.compareAndSwap(id: id, column: column, old: Self.value(1, 0), new: rewritten))
        #expect(try await source.item(id: id, column: column) == rewritten)
        // The old bytes are stale now: a second swap from them is refused and changes nothing.
        #expect(try await source.compareAndSwap(id: id, column: column, old: Self.value(1, 0), new: [9]) == false)
        #expect(try await source.item(id: id, column: column) == rewritten)
        // An item that is not there cannot be swapped.
        let missing = application.id(99, tenant: "acme")
        #expect(try await source.compareAndSwap(id: missing, column: column, old: rewritten, new: [9]) == false)
        #expect(try await source.item(id: missing, column: column) == nil)
        // A batch: each swap judged on its own, in one transaction where the source has them.
        try await application.insert(2, tenant: "acme", values: [Self.value(2, 0), nil])
        let second = application.id(2, tenant: "acme")
        let results = try await source.compareAndSwap([
            DataSourceSwap(id: second, column: column, old: Self.value(2, 0), new: [7, 7]),
            DataSourceSwap(id: id, column: column, old: Self.value(1, 0), new: [8, 8]),
        ])
        #expect(results == [true, false])
        #expect(try await source.item(id: second, column: column) == [7, 7])
        #expect(try await source.item(id: id, column: column) == rewritten)
        if kind != .directory {
            #expect(try await source.item(id: id, column: application.columns[1]) == Self.value(1, 1), "the other column is untouched")
            await #expect(throws: TenantError.self) { _ = try await source.item(id: id, column: "tenant_id") }
        } else {
            await #expect(throws: TenantError.self) { _ = try await source.item(id: .text("acme/../../etc/passwd"), column: column) }
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: application.directory + "/blobs").filter { $0.contains(".cmkctl-swap-") }
            #expect(leftovers.isEmpty)
        }
    }

    /// `write` (a restore) puts items back whatever they hold, makes gone ones anew, says which it did,
    /// and never takes over a row of another tenant.
    @Test(arguments: Kind.allCases)
    func writePutsItemsBackAndNeverTakesAnotherTenantsRow(kind: Kind) async throws {
        let application = try await Application(kind)
        defer { application.remove() }
        try await application.insert(1, tenant: "acme", values: [Self.value(1, 0), nil])
        try await application.insert(2, tenant: "acme", values: [[5, 5], nil])
        try await application.insert(3, tenant: "beta", values: [Self.value(3, 0), nil])
        let source = try await application.open()
        defer { Task { await source.close() } }
        let column = application.columns[0]
        let items = [1, 2, 4].map { DataSourceItem(id: application.id($0, tenant: "acme"), column: column, ciphertext: Self.value($0, 0)) }
        #expect(try await source.write(items, tenant: "acme") == [.unchanged, .updated, .created])
        for number in [1, 2, 4] {
            #expect(try await source.item(id: application.id(number, tenant: "acme"), column: column) == Self.value(number, 0))
        }
        let page = try await source.batch(tenant: "acme", after: nil, limit: 10)
        #expect(Set(page.items.map(\.id)) == Set([1, 2, 4].map { application.id($0, tenant: "acme") }))
        if kind == .directory {
            // A file of another tenant's folder is not an item of this tenant.
            let foreign = DataSourceItem(id: application.id(3, tenant: "beta"), column: column, ciphertext: [9])
            await #expect(throws: TenantError.self) { _ = try await source.write([foreign], tenant: "acme") }
        } else {
            // Row 3 is beta's: refused, and the whole batch (row 5 with it) rolled back.
            let batch = [DataSourceItem(id: .integer(5), column: column, ciphertext: [1]), DataSourceItem(id: .integer(3), column: column, ciphertext: [9])]
            let error = await #expect(throws: TenantError.self) { _ = try await source.write(batch, tenant: "acme") }
            #expect(error?.code == .dataSourceFailure)
            #expect(error?.message.contains("belongs to another tenant") == true, "\(error?.message ?? "")")
            #expect(try await source.item(id: .integer(5), column: column) == nil)
        }
        #expect(try await source.item(id: application.id(3, tenant: "beta"), column: column) == Self.value(3, 0))
    }

    @Test(arguments: Kind.allCases)
    func aWellFormedSourceChecksClean(kind: Kind) async throws {
        let application = try await Application(kind)
        defer { application.remove() }
        let source = try await application.open()
        defer { Task { await source.close() } }
        let findings = await source.check()
        #expect(findings.filter { $0.status == .problem } == [], "\(findings)")
        #expect(findings.contains { $0.subject == "reachable" })
    }

    @Test(arguments: [Kind.sqlite, .postgres])
    func checkNamesEveryProblemWithItsFix(kind: Kind) async throws {
        // No index on id, a text ciphertext column, a missing column.
        let application = try await Application(kind, create: "CREATE TABLE documents (id INTEGER, tenant_id TEXT, body TEXT)")
        defer { application.remove() }
        let source = try await application.open()
        defer { Task { await source.close() } }
        let problems = await source.check().filter { $0.status == .problem }
        #expect(Set(problems.map(\.subject)) == ["column body", "column attachment", "index on id"], "\(problems)")
        #expect(problems.allSatisfy { $0.fix?.isEmpty == false })

        try await application.sql("CREATE INDEX documents_tenant_id ON documents (tenant_id, id)")
        let afterIndex = await source.check().filter { $0.status == .problem }
        #expect(Set(afterIndex.map(\.subject)) == ["column body", "column attachment"])
    }

    @Test(arguments: [Kind.sqlite, .postgres])
    func aMissingTableIsOneProblem(kind: Kind) async throws {
        let application = try await Application(kind, table: "notes")
        defer { application.remove() }
        let source = try await application.open()
        defer { Task { await source.close() } }
        let problems = await source.check().filter { $0.status == .problem }
        #expect(problems.map(\.subject) == ["table"])
    }

    @Test func aMissingDirectoryOrDatabaseIsReported() async throws {
        let directory = DataSourceConfiguration(name: "blobs", location: .directory(path: "/nonexistent/cmkctl-blobs"))
        let findings = await (try DirectoryDataSource(configuration: directory)).check()
        #expect(findings.map(\.status) == [.problem])
        let layout = DataSourceConfiguration.TableLayout(table: "t", idColumn: "id", tenantColumn: "tenant", columns: ["body"])
        let sqlite = DataSourceConfiguration(name: "app", location: .sqlite(path: "/nonexistent/app.sqlite", layout: layout))
        let refused = #expect(throws: TenantError.self) { _ = try SQLiteDataSource(configuration: sqlite) }
        #expect(refused?.code == .dataSourceFailure)
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent/app.sqlite"))
    }
}
