import CMKTenant
import Foundation
import Logging
import PostgresNIO

/// An application's PostgreSQL table as a data source, over one connection of its own.
///
/// One connection rather than a pool: a sweep reads a page and writes its items one after another,
/// and one connection is also the least an operator's application database has to spare.
/// Identifiers come from the validated configuration (plain SQL identifiers) and are quoted;
/// every value is a bound parameter.
public final class PostgresDataSource: DataSource {
    public let configuration: DataSourceConfiguration
    public let location: PostgresLocation
    private let layout: DataSourceConfiguration.TableLayout
    private let connection: PostgresConnection
    private let logger: Logger

    private init(configuration: DataSourceConfiguration, location: PostgresLocation, layout: DataSourceConfiguration.TableLayout,
                 connection: PostgresConnection, logger: Logger) {
        self.configuration = configuration
        self.location = location
        self.layout = layout
        self.connection = connection
        self.logger = logger
    }

    /// Connects, waiting up to `connectTimeout`.
    public static func open(_ configuration: DataSourceConfiguration, connectTimeout: Duration = .seconds(10),
                            logger: Logger = PostgresStore.defaultLogger) async throws -> PostgresDataSource {
        guard case .postgres(let url, let layout) = configuration.location else {
            throw TenantError(.configuration, "data source \(configuration.name) is not a postgres source")
        }
        let location: PostgresLocation
        do {
            location = try PostgresLocation(url: url)
        } catch let error as PostgresStoreError {
            throw TenantError(.configuration, "data source \(configuration.name): \(error.message)")
        }
        do {
            let tls: PostgresConnection.Configuration.TLS =
                switch location.tls {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
            var options = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: tls)
            options.options.connectTimeout = .milliseconds(Int64(connectTimeout.components.seconds * 1000))
            let connection = try await PostgresConnection.connect(configuration: options, id: 0, logger: logger)
            return PostgresDataSource(configuration: configuration, location: location, layout: layout, connection: connection, logger: logger)
        } catch {
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot connect to \(location): \(describe(error))")
        }
    }

    public func batch(tenant: String, after cursor: ItemID?, limit: Int) async throws -> DataSourceBatch {
        guard limit > 0 else { throw TenantError(.invalidInput, "a batch needs a limit of at least 1") }
        var binds = PostgresBindings()
        binds.append(tenant)
        let columns = ([layout.idColumn] + layout.columns).map(Self.quoted).joined(separator: ", ")
        var sql = "SELECT \(columns) FROM \(Self.quoted(layout.table)) WHERE \(Self.quoted(layout.tenantColumn)) = $1"
        if let cursor {
            sql += " AND \(Self.quoted(layout.idColumn)) > $2"
            Self.bind(cursor, into: &binds)
        }
        sql += " ORDER BY \(Self.quoted(layout.idColumn)) LIMIT \(limit)"
        return try await access("read") {
            var items: [DataSourceItem] = []
            var last: ItemID?
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
                let cells = Array(row)
                let id = try Self.itemID(cells[0], source: configuration.name)
                last = id
                for (offset, column) in layout.columns.enumerated() {
                    if let bytes = cells[offset + 1].bytes {
                        items.append(DataSourceItem(id: id, column: column, ciphertext: Array(buffer: bytes)))
                    }
                }
            }
            return DataSourceBatch(items: items, last: last)
        }
    }

    public func item(id: ItemID, column: String) async throws -> [UInt8]? {
        let column = try layout.ciphertextColumn(column, source: configuration.name)
        var binds = PostgresBindings()
        Self.bind(id, into: &binds)
        let sql = "SELECT \(Self.quoted(column)) FROM \(Self.quoted(layout.table)) WHERE \(Self.quoted(layout.idColumn)) = $1"
        return try await access("read") {
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
                return Array(row)[0].bytes.map { Array(buffer: $0) }
            }
            return nil
        }
    }

    public func compareAndSwap(id: ItemID, column: String, old: [UInt8], new: [UInt8]) async throws -> Bool {
        let column = try layout.ciphertextColumn(column, source: configuration.name)
        var binds = PostgresBindings()
        binds.append(ByteBuffer(bytes: new))
        Self.bind(id, into: &binds)
        binds.append(ByteBuffer(bytes: old))
        let sql = "UPDATE \(Self.quoted(layout.table)) SET \(Self.quoted(column)) = $1 WHERE \(Self.quoted(layout.idColumn)) = $2 AND \(Self.quoted(column)) = $3 RETURNING 1"
        return try await access("write") {
            var updated = 0
            for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
                updated += 1
            }
            return updated == 1
        }
    }

    /// All in one transaction: one commit for a page. A failure rolls the page back whole.
    public func compareAndSwap(_ swaps: [DataSourceSwap]) async throws -> [Bool] {
        var queries: [PostgresQuery] = []
        for swap in swaps {
            let column = try layout.ciphertextColumn(swap.column, source: configuration.name)
            var binds = PostgresBindings()
            binds.append(ByteBuffer(bytes: swap.new))
            Self.bind(swap.id, into: &binds)
            binds.append(ByteBuffer(bytes: swap.old))
            queries.append(PostgresQuery(unsafeSQL: "UPDATE \(Self.quoted(layout.table)) SET \(Self.quoted(column)) = $1 WHERE \(Self.quoted(layout.idColumn)) = $2 AND \(Self.quoted(column)) = $3 RETURNING 1", binds: binds))
        }
        return try await access("write") {
            try await connection.query("BEGIN", logger: logger)
            do {
                var results: [Bool] = []
                for query in queries {
                    var updated = 0
                    for try await _ in try await connection.query(query, logger: logger) { updated += 1 }
                    results.append(updated == 1)
                }
                try await connection.query("COMMIT", logger: logger)
                return results
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// All in one transaction; a row of another tenant rolls the whole batch back.
    public func write(_ items: [DataSourceItem], tenant: String) async throws -> [DataSourceWrite] {
        let table = Self.quoted(layout.table), idColumn = Self.quoted(layout.idColumn), tenantColumn = Self.quoted(layout.tenantColumn)
        let plans = try items.map { item in (item, Self.quoted(try layout.ciphertextColumn(item.column, source: configuration.name))) }
        return try await access("write") {
            try await connection.query("BEGIN", logger: logger)
            do {
                var results: [DataSourceWrite] = []
                for (item, column) in plans {
                    var idBinds = PostgresBindings()
                    Self.bind(item.id, into: &idBinds)
                    // FOR UPDATE: an application write to the row waits until the restore's commit.
                    let select = PostgresQuery(unsafeSQL: "SELECT \(tenantColumn)::text, \(column) FROM \(table) WHERE \(idColumn) = $1 FOR UPDATE",
                                               binds: idBinds)
                    var found: (tenant: String?, bytes: [UInt8]?)?
                    for try await row in try await connection.query(select, logger: logger) {
                        let cells = Array(row)
                        found = (try cells[0].decode(String?.self), cells[1].bytes.map { Array(buffer: $0) })
                    }
                    var binds = PostgresBindings()
                    binds.append(ByteBuffer(bytes: item.ciphertext))
                    Self.bind(item.id, into: &binds)
                    guard let found else {
                        binds.append(tenant)
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "INSERT INTO \(table) (\(column), \(idColumn), \(tenantColumn)) VALUES ($1, $2, $3)", binds: binds),
                            logger: logger)
                        results.append(.created)
                        continue
                    }
                    guard found.tenant == tenant else {
                        throw TenantError(.dataSourceFailure, "data source \(configuration.name): row \(item.id) belongs to another tenant now; it was not overwritten")
                    }
                    if found.bytes == item.ciphertext {
                        results.append(.unchanged)
                    } else {
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "UPDATE \(table) SET \(column) = $1 WHERE \(idColumn) = $2", binds: binds), logger: logger)
                        // A NULL column was no item (as `batch` reads it): the item is made anew.
                        results.append(found.bytes == nil ? .created : .updated)
                    }
                }
                try await connection.query("COMMIT", logger: logger)
                return results
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func check() async -> [DataSourceFinding] {
        do {
            return try await findings()
        } catch {
            return [.problem("reachable", "cannot read the catalog of \(location): \(describe(error))",
                             fix: "check the URL, the server and the user's rights")]
        }
    }

    public func close() async {
        try? await connection.close()
    }

    private func findings() async throws -> [DataSourceFinding] {
        var findings: [DataSourceFinding] = [.ok("reachable", "connected to \(location)")]
        var binds = PostgresBindings()
        binds.append(layout.table)
        let tableQuery = PostgresQuery(unsafeSQL: """
            SELECT c.oid::int8, has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'UPDATE')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND n.nspname = current_schema()
            """, binds: binds)
        var table: (oid: Int64, select: Bool, update: Bool)?
        for try await (oid, select, update) in try await connection.query(tableQuery, logger: logger).decode((Int64, Bool, Bool).self) {
            table = (oid, select, update)
        }
        guard let table else {
            findings.append(.problem("table", "no table \(layout.table) in the current schema of \(location.database)",
                                     fix: "correct \"table\" (names are case-sensitive), or create the table the application uses"))
            return findings
        }
        if table.select && table.update {
            findings.append(.ok("table", "\(layout.table), readable and updatable"))
        } else {
            findings.append(.problem("table", "\(location.user) may not \(table.select ? "UPDATE" : "SELECT") \(layout.table)",
                                     fix: "GRANT SELECT, UPDATE ON \(layout.table) TO \(location.user)"))
        }

        var columnBinds = PostgresBindings()
        columnBinds.append(table.oid)
        let columnQuery = PostgresQuery(unsafeSQL: """
            SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = $1::int8::oid AND attnum > 0 AND NOT attisdropped
            """, binds: columnBinds)
        var types: [String: String] = [:]
        for try await (name, type) in try await connection.query(columnQuery, logger: logger).decode((String, String).self) {
            types[name] = type
        }
        let integerTypes = ["smallint", "integer", "bigint"]
        let textTypes = ["text", "character varying", "character"]
        func base(_ type: String) -> String { String(type.prefix { $0 != "(" }) }
        switch types[layout.idColumn].map(base) {
        case nil:
            findings.append(.problem("column \(layout.idColumn)", "no column \(layout.idColumn) in \(layout.table)", fix: "correct \"idColumn\""))
        case let type? where integerTypes.contains(type) || textTypes.contains(type):
            findings.append(.ok("column \(layout.idColumn)", "id column, \(type)"))
        case let type?:
            findings.append(.problem("column \(layout.idColumn)", "the id column is \(type)",
                                     fix: "use an integer or text id column: the sweep pages through items in id order"))
        }
        switch types[layout.tenantColumn].map(base) {
        case nil:
            findings.append(.problem("column \(layout.tenantColumn)", "no column \(layout.tenantColumn) in \(layout.table)", fix: "correct \"tenantColumn\""))
        case let type? where textTypes.contains(type):
            findings.append(.ok("column \(layout.tenantColumn)", "tenant column, \(type)"))
        case let type?:
            findings.append(.problem("column \(layout.tenantColumn)", "the tenant column is \(type)", fix: "hold tenant ids in a text column"))
        }
        for column in layout.columns {
            switch types[column] {
            case nil:
                findings.append(.problem("column \(column)", "no column \(column) in \(layout.table)", fix: "correct \"columns\""))
            case "bytea":
                findings.append(.ok("column \(column)", "ciphertext column, bytea"))
            case let type?:
                findings.append(.problem("column \(column)", "the column is \(type), not bytea", fix: "store messages in a bytea column (they are binary)"))
            }
        }

        let indexQuery = PostgresQuery(unsafeSQL: """
            SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.position)
            FROM pg_index i WHERE i.indrelid = $1::int8::oid
            """, binds: columnBinds)
        var indexed = false
        for try await (names) in try await connection.query(indexQuery, logger: logger).decode([String].self) {
            if names.first == layout.idColumn || (names.count >= 2 && names[0] == layout.tenantColumn && names[1] == layout.idColumn) {
                indexed = true
            }
        }
        if indexed {
            findings.append(.ok("index on \(layout.idColumn)", "the id column leads the primary key or an index"))
        } else {
            findings.append(.problem("index on \(layout.idColumn)", "no primary key or index starts with \(layout.idColumn) (or \(layout.tenantColumn), \(layout.idColumn))",
                                     fix: "CREATE INDEX \(layout.table)_\(layout.tenantColumn)_\(layout.idColumn) ON \(layout.table) (\(layout.tenantColumn), \(layout.idColumn)); without it every page scans the table"))
        }
        return findings
    }

    private func access<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as TenantError {
            throw error
        } catch {
            throw TenantError(.dataSourceFailure, "data source \(configuration.name): cannot \(what) \(layout.table): \(describe(error))")
        }
    }

    static func quoted(_ identifier: String) -> String { "\"\(identifier)\"" }

    static func bind(_ id: ItemID, into binds: inout PostgresBindings) {
        switch id {
        case .integer(let value): binds.append(value)
        case .text(let value): binds.append(value)
        }
    }

    static func itemID(_ cell: PostgresCell, source: String) throws -> ItemID {
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .text, .varchar, .bpchar: return .text(try cell.decode(String.self))
        default: throw TenantError(.dataSourceFailure, "data source \(source): the id column is neither an integer nor text")
        }
    }
}
