import CMKTenant
import Foundation
import GRDB

/// An application's SQLite table as a data source, through a connection of its own to the
/// application's database file.
///
/// A plain `DatabaseQueue`, not a pool: a pool would switch the application's database to WAL,
/// which is the application's decision. Writes wait up to 10 s for the application's locks.
public struct SQLiteDataSource: DataSource {
    public let configuration: DataSourceConfiguration
    public let path: String
    private let layout: DataSourceConfiguration.TableLayout
    private let queue: DatabaseQueue

    /// Opens the existing database file; a missing file is refused rather than created empty.
    public init(configuration: DataSourceConfiguration) throws {
        guard case .sqlite(let path, let layout) = configuration.location else {
            throw TenantError(.configuration, "data source \(configuration.name) is not a sqlite source")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): \(path) does not exist")
        }
        var options = Configuration()
        options.busyMode = .timeout(10)
        options.label = "cmkctl.data-source.\(configuration.name)"
        do {
            queue = try DatabaseQueue(path: path, configuration: options)
        } catch {
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot open \(path): \(Self.describe(error))")
        }
        self.configuration = configuration
        self.path = path
        self.layout = layout
    }

    public func batch(tenant: String, after cursor: ItemID?, limit: Int) async throws -> DataSourceBatch {
        guard limit > 0 else { throw TenantError(.invalidInput, "a batch needs a limit of at least 1") }
        let columns = ([layout.idColumn] + layout.columns).map(Self.quoted).joined(separator: ", ")
        var sql = "SELECT \(columns) FROM \(Self.quoted(layout.table)) WHERE \(Self.quoted(layout.tenantColumn)) = ?"
        var arguments: StatementArguments = [tenant]
        if let cursor {
            sql += " AND \(Self.quoted(layout.idColumn)) > ?"
            arguments += [Self.value(cursor)]
        }
        sql += " ORDER BY \(Self.quoted(layout.idColumn)) LIMIT ?"
        arguments += [limit]
        let layout = self.layout
        let name = configuration.name
        let (statement, values) = (sql, arguments)
        return try await access("read") {
            try await queue.read { db in
                var items: [DataSourceItem] = []
                var last: ItemID?
                let rows = try Row.fetchCursor(db, sql: statement, arguments: values)
                while let row = try rows.next() {
                    let id = try Self.itemID(row[0] as DatabaseValue, source: name)
                    last = id
                    for (offset, column) in layout.columns.enumerated() {
                        if let bytes = Self.bytes(row[offset + 1] as DatabaseValue) {
                            items.append(DataSourceItem(id: id, column: column, ciphertext: bytes))
                        }
                    }
                }
                return DataSourceBatch(items: items, last: last)
            }
        }
    }

    public func item(id: ItemID, column: String) async throws -> [UInt8]? {
        let column = try layout.ciphertextColumn(column, source: configuration.name)
        let sql = "SELECT \(Self.quoted(column)) FROM \(Self.quoted(layout.table)) WHERE \(Self.quoted(layout.idColumn)) = ?"
        return try await access("read") {
            try await queue.read { db in
                try Row.fetchOne(db, sql: sql, arguments: [Self.value(id)]).flatMap { Self.bytes($0[0] as DatabaseValue) }
            }
        }
    }

    public func compareAndSwap(id: ItemID, column: String, old: [UInt8], new: [UInt8]) async throws -> Bool {
        let column = try layout.ciphertextColumn(column, source: configuration.name)
        let sql = "UPDATE \(Self.quoted(layout.table)) SET \(Self.quoted(column)) = ? WHERE \(Self.quoted(layout.idColumn)) = ? AND \(Self.quoted(column)) = ?"
        return try await access("write") {
            try await queue.write { db in
                try db.execute(sql: sql, arguments: [Data(new), Self.value(id), Data(old)])
                return db.changesCount == 1
            }
        }
    }

    /// All in one write transaction: one commit (one fsync) for a page.
    public func compareAndSwap(_ swaps: [DataSourceSwap]) async throws -> [Bool] {
        let statements = try swaps.map { swap in
            let column = try layout.ciphertextColumn(swap.column, source: configuration.name)
            return "UPDATE \(Self.quoted(layout.table)) SET \(Self.quoted(column)) = ? WHERE \(Self.quoted(layout.idColumn)) = ? AND \(Self.quoted(column)) = ?"
        }
        return try await access("write") {
            try await queue.write { db in
                var results: [Bool] = []
                for (swap, sql) in zip(swaps, statements) {
                    try db.execute(sql: sql, arguments: [Data(swap.new), Self.value(swap.id), Data(swap.old)])
                    results.append(db.changesCount == 1)
                }
                return results
            }
        }
    }

    /// All in one write transaction; a row of another tenant rolls the whole batch back.
    public func write(_ items: [DataSourceItem], tenant: String) async throws -> [DataSourceWrite] {
        let table = Self.quoted(layout.table), idColumn = Self.quoted(layout.idColumn), tenantColumn = Self.quoted(layout.tenantColumn)
        let plans = try items.map { item in (item, Self.quoted(try layout.ciphertextColumn(item.column, source: configuration.name))) }
        let name = configuration.name
        return try await access("write") {
            try await queue.write { db in
                var results: [DataSourceWrite] = []
                for (item, column) in plans {
                    let id = Self.value(item.id)
                    guard let row = try Row.fetchOne(db, sql: "SELECT \(tenantColumn), \(column) FROM \(table) WHERE \(idColumn) = ?", arguments: [id]) else {
                        try db.execute(sql: "INSERT INTO \(table) (\(idColumn), \(tenantColumn), \(column)) VALUES (?, ?, ?)",
                                       arguments: [id, tenant, Data(item.ciphertext)])
                        results.append(.created)
                        continue
                    }
                    guard (row[0] as DatabaseValue) == tenant.databaseValue else {
                        throw TenantError(.dataSourceFailure, "data source \(name): row \(item.id) belongs to another tenant now; it was not overwritten")
                    }
                    let current = Self.bytes(row[1] as DatabaseValue)
                    if current == item.ciphertext {
                        results.append(.unchanged)
                    } else {
                        try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE \(idColumn) = ?", arguments: [Data(item.ciphertext), id])
                        // A NULL column was no item (as `batch` reads it): the item is made anew.
                        results.append(current == nil ? .created : .updated)
                    }
                }
                return results
            }
        }
    }

    public func check() async -> [DataSourceFinding] {
        do {
            return try await queue.read { db in try self.findings(db) }
        } catch {
            return [.problem("reachable", "cannot read \(path): \(Self.describe(error))",
                             fix: "point \"path\" at the application's SQLite database and make it readable by this user")]
        }
    }

    public func close() async {
        try? queue.close()
    }

    /// Table, columns, types and index, each as a finding.
    private func findings(_ db: Database) throws -> [DataSourceFinding] {
        var findings: [DataSourceFinding] = [.ok("reachable", "\(path) opened")]
        if !FileManager.default.isWritableFile(atPath: path) {
            findings.append(.problem("writable", "\(path) is read-only for this user", fix: "let the user cmkctl runs as write the database file and its folder"))
        }
        guard try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = ? AND type = 'table'", arguments: [layout.table]) != nil else {
            findings.append(.problem("table", "no table \(layout.table) in \(path)", fix: "correct \"table\", or create the table the application uses"))
            return findings
        }
        findings.append(.ok("table", layout.table))
        let columns = try Row.fetchAll(db, sql: "SELECT name, type, pk FROM pragma_table_info(?)", arguments: [layout.table])
        let declared = Dictionary(columns.map { (($0["name"] as String).lowercased(), ($0["type"] as String? ?? "").uppercased()) }, uniquingKeysWith: { a, _ in a })
        func type(_ column: String) -> String? { declared[column.lowercased()] }

        if let idType = type(layout.idColumn) {
            if idType.contains("INT") || idType.contains("CHAR") || idType.contains("TEXT") || idType.contains("CLOB") {
                findings.append(.ok("column \(layout.idColumn)", "id column, declared \(idType)"))
            } else {
                findings.append(.problem("column \(layout.idColumn)", "the id column is declared \(idType.isEmpty ? "without a type" : idType)",
                                         fix: "use an INTEGER or TEXT id column: the sweep pages through items in id order"))
            }
        } else {
            findings.append(.problem("column \(layout.idColumn)", "no column \(layout.idColumn) in \(layout.table)", fix: "correct \"idColumn\""))
        }
        if type(layout.tenantColumn) == nil {
            findings.append(.problem("column \(layout.tenantColumn)", "no column \(layout.tenantColumn) in \(layout.table)", fix: "correct \"tenantColumn\""))
        } else {
            findings.append(.ok("column \(layout.tenantColumn)", "tenant column"))
        }
        for column in layout.columns {
            guard let declaredType = type(column) else {
                findings.append(.problem("column \(column)", "no column \(column) in \(layout.table)", fix: "correct \"columns\""))
                continue
            }
            if declaredType.isEmpty || declaredType.contains("BLOB") {
                findings.append(.ok("column \(column)", "ciphertext column, declared \(declaredType.isEmpty ? "without a type (BLOB affinity)" : declaredType)"))
            } else {
                findings.append(.problem("column \(column)", "declared \(declaredType), so SQLite may convert the bytes of a message",
                                         fix: "declare the column BLOB (messages are binary)"))
            }
        }

        let indexed = try idIsIndexed(db, columns: columns)
        if indexed {
            findings.append(.ok("index on \(layout.idColumn)", "the id column leads the primary key or an index"))
        } else {
            findings.append(.problem("index on \(layout.idColumn)", "no primary key or index starts with \(layout.idColumn) (or \(layout.tenantColumn), \(layout.idColumn))",
                                     fix: "CREATE INDEX \(layout.table)_\(layout.tenantColumn)_\(layout.idColumn) ON \(layout.table) (\(layout.tenantColumn), \(layout.idColumn)); without it every page scans the table"))
        }
        return findings
    }

    /// True when the id column is the primary key (alone or first), or an index starts with it or with
    /// (tenant, id).
    private func idIsIndexed(_ db: Database, columns: [Row]) throws -> Bool {
        let primary = columns.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }
        if let first = primary.first, (first["name"] as String).lowercased() == layout.idColumn.lowercased() { return true }
        let indexes = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?)", arguments: [layout.table])
        for index in indexes {
            let names = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [index]).map { $0.lowercased() }
            if names.first == layout.idColumn.lowercased() { return true }
            if names.count >= 2, names[0] == layout.tenantColumn.lowercased(), names[1] == layout.idColumn.lowercased() { return true }
        }
        return false
    }

    private func access<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot \(what) \(layout.table) in \(path): \(Self.describe(error))")
        }
    }

    static func quoted(_ identifier: String) -> String { "\"\(identifier)\"" }

    static func value(_ id: ItemID) -> DatabaseValue {
        switch id {
        case .integer(let value): value.databaseValue
        case .text(let value): value.databaseValue
        }
    }

    static func itemID(_ value: DatabaseValue, source: String) throws -> ItemID {
        switch value.storage {
        case .int64(let number): return .integer(number)
        case .string(let text): return .text(text)
        default: throw TenantError(.dataSourceFailure, "data source \(source): an id is neither an integer nor text")
        }
    }

    /// A message's bytes; NULL is no item. Text is passed on as its bytes, for the sweep to report as
    /// not a message rather than skip.
    static func bytes(_ value: DatabaseValue) -> [UInt8]? {
        switch value.storage {
        case .blob(let data): [UInt8](data)
        case .string(let text): Array(text.utf8)
        case .null: nil
        case .int64(let number): Array(String(number).utf8)
        case .double(let number): Array(String(number).utf8)
        }
    }

    /// GRDB's error without the statement's arguments (which hold ciphertexts).
    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "SQLite error \(error.resultCode.rawValue): \(error.message ?? "\(error.resultCode)")"
        }
        return "\(error)"
    }
}
