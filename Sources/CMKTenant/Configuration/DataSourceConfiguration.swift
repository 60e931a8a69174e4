import CMKEnvelope
import Foundation

/// One place the operator's applications keep tenant ciphertexts, as declared in the operator
/// configuration's `dataSources`: a table in SQLite or PostgreSQL, or a directory tree of message files.
///
/// The JSON shape is fixed per kind, and a field another kind uses is refused rather than ignored,
/// so a `url` on a SQLite source (a copy-paste slip) cannot pass silently:
/// `{"name", "kind": "sqlite", "path", "table", "idColumn", "tenantColumn", "columns": [...]}`,
/// `{"name", "kind": "postgres", "url", "table", "idColumn", "tenantColumn", "columns": [...]}`,
/// `{"name", "kind": "directory", "path"}`.
public struct DataSourceConfiguration: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case sqlite, postgres, directory
    }

    /// Where the ciphertexts of a table source are: one row per item, one or more message columns.
    public struct TableLayout: Sendable, Equatable {
        public var table: String
        /// Orders the sweep's keyset pagination; integer or text, with an index or primary key.
        public var idColumn: String
        public var tenantColumn: String
        /// Columns holding whole AWS Encryption SDK messages (BLOB / bytea); NULL is skipped.
        public var columns: [String]

        public init(table: String, idColumn: String, tenantColumn: String, columns: [String]) {
            self.table = table
            self.idColumn = idColumn
            self.tenantColumn = tenantColumn
            self.columns = columns
        }

        /// `column` if it is one of the configured ciphertext columns: only those are ever named in a
        /// statement, so no caller can steer SQL to another column.
        public func ciphertextColumn(_ column: String, source: String) throws -> String {
            guard columns.contains(column) else {
                throw TenantError(.invalidInput, "data source \(source) has no ciphertext column \(column)")
            }
            return column
        }
    }

    public enum Location: Sendable, Equatable {
        /// A SQLite database file of the application (opened with a connection of our own).
        case sqlite(path: String, layout: TableLayout)
        /// A PostgreSQL database, `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
        case postgres(url: String, layout: TableLayout)
        /// One message per file under `<path>/<tenant>/`, at any depth.
        case directory(path: String)
    }

    /// Unique among the sources; names the source in ledgers, cursors and messages.
    public var name: String
    public var location: Location

    public init(name: String, location: Location) {
        self.name = name
        self.location = location
    }

    public var kind: Kind {
        switch location {
        case .sqlite: .sqlite
        case .postgres: .postgres
        case .directory: .directory
        }
    }

    public var layout: TableLayout? {
        switch location {
        case .sqlite(_, let layout), .postgres(_, let layout): layout
        case .directory: nil
        }
    }

    enum Field: String, CodingKey, CaseIterable {
        case name, kind, path, url, table, idColumn, tenantColumn, columns
    }

    /// The fields each kind takes, all required.
    static func fields(of kind: Kind) -> [Field] {
        switch kind {
        case .sqlite: [.name, .kind, .path, .table, .idColumn, .tenantColumn, .columns]
        case .postgres: [.name, .kind, .url, .table, .idColumn, .tenantColumn, .columns]
        case .directory: [.name, .kind, .path]
        }
    }

    public init(from decoder: any Decoder) throws {
        let at = OperatorConfiguration.fieldPath(decoder.codingPath)
        let present = try decoder.container(keyedBy: OperatorConfiguration.FieldName.self).allKeys.map(\.stringValue)
        let container = try decoder.container(keyedBy: Field.self)
        guard let kindText = try container.decodeIfPresent(String.self, forKey: .kind) else {
            throw TenantError(.configuration, "\(at).kind is missing (one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let kind = Kind(rawValue: kindText) else {
            throw TenantError(.configuration, "\(at).kind must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), got \(DisplayText.quoted(kindText, limit: 60))")
        }
        let allowed = Self.fields(of: kind)
        if let unknown = present.sorted().first(where: { name in !allowed.contains { $0.stringValue == name } }) {
            throw TenantError(.configuration, "\(at): unknown field \(DisplayText.quoted(unknown, limit: 60)) for a \(kind.rawValue) source (its fields: \(allowed.map(\.stringValue).joined(separator: ", ")))")
        }
        for field in allowed where !present.contains(field.stringValue) {
            throw TenantError(.configuration, "\(at).\(field.stringValue) is missing (a \(kind.rawValue) source needs \(allowed.map(\.stringValue).joined(separator: ", ")))")
        }
        name = try container.decode(String.self, forKey: .name)
        func layout() throws -> TableLayout {
            TableLayout(table: try container.decode(String.self, forKey: .table),
                        idColumn: try container.decode(String.self, forKey: .idColumn),
                        tenantColumn: try container.decode(String.self, forKey: .tenantColumn),
                        columns: try container.decode([String].self, forKey: .columns))
        }
        switch kind {
        case .sqlite: location = .sqlite(path: try container.decode(String.self, forKey: .path), layout: try layout())
        case .postgres: location = .postgres(url: try container.decode(String.self, forKey: .url), layout: try layout())
        case .directory: location = .directory(path: try container.decode(String.self, forKey: .path))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        switch location {
        case .sqlite(let path, _), .directory(let path): try container.encode(path, forKey: .path)
        case .postgres(let url, _): try container.encode(url, forKey: .url)
        }
        if let layout {
            try container.encode(layout.table, forKey: .table)
            try container.encode(layout.idColumn, forKey: .idColumn)
            try container.encode(layout.tenantColumn, forKey: .tenantColumn)
            try container.encode(layout.columns, forKey: .columns)
        }
    }

    /// The same source with a relative `path` made absolute against `directory` (the configuration
    /// file's folder), so a source means the same file whichever directory cmkctl runs in.
    public func resolvingPaths(against directory: String) -> DataSourceConfiguration {
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory, isDirectory: true)).standardizedFileURL.path
        }
        var resolved = self
        switch location {
        case .sqlite(let path, let layout): resolved.location = .sqlite(path: absolute(path), layout: layout)
        case .directory(let path): resolved.location = .directory(path: absolute(path))
        case .postgres: break
        }
        return resolved
    }

    /// Checks every field of source `index`, naming the first wrong one and the form it should have.
    func validate(index: Int, source: String) throws {
        let at = "dataSources[\(index)]"
        func refuse(_ field: String, _ expected: String, got value: String) -> TenantError {
            TenantError(.configuration, "\(source): \(at).\(field) must be \(expected), got \(DisplayText.quoted(value, limit: 120))")
        }
        guard Self.isSourceName(name) else {
            throw refuse("name", "1 to 64 letters, digits, '.', '_' or '-'", got: name)
        }
        switch location {
        case .sqlite(let path, _), .directory(let path):
            guard !path.isEmpty, path.utf8.count <= 4096, OperatorConfiguration.isPrintable(path) else {
                throw refuse("path", "a file path without control characters", got: path)
            }
        case .postgres(let url, _):
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"), OperatorConfiguration.isPrintable(url),
                  let host = URLComponents(string: url)?.host, !host.isEmpty else {
                throw refuse("url", "a postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE URL", got: Self.redacted(url))
            }
        }
        guard let layout else { return }
        let identifier = "an SQL identifier (a letter or '_', then letters, digits or '_'; at most 63)"
        for (field, value) in [("table", layout.table), ("idColumn", layout.idColumn), ("tenantColumn", layout.tenantColumn)]
        where !Self.isIdentifier(value) {
            throw refuse(field, identifier, got: value)
        }
        guard layout.idColumn != layout.tenantColumn else {
            throw refuse("tenantColumn", "a column other than idColumn", got: layout.tenantColumn)
        }
        guard !layout.columns.isEmpty else {
            throw TenantError(.configuration, "\(source): \(at).columns must list at least one ciphertext column")
        }
        for (position, column) in layout.columns.enumerated() {
            guard Self.isIdentifier(column) else { throw refuse("columns[\(position)]", identifier, got: column) }
            guard column != layout.idColumn, column != layout.tenantColumn else {
                throw refuse("columns[\(position)]", "a column other than idColumn and tenantColumn", got: column)
            }
            guard !layout.columns[..<position].contains(column) else {
                throw refuse("columns[\(position)]", "listed once", got: column)
            }
        }
    }

    static func isSourceName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    /// Plain identifiers only: they are quoted in every statement anyway, but an identifier that
    /// needs quoting is almost always a typo, and this keeps statements free of escaping.
    public static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.utf8.first, (1...63).contains(text.utf8.count) else { return false }
        func letter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F }
        return letter(first) && text.utf8.allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// A URL with its password hidden, for messages.
    public static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let schemeEnd = url.range(of: "://")?.upperBound, schemeEnd < at,
              let colon = url[schemeEnd..<at].firstIndex(of: ":") else { return String(url.prefix(200)) }
        return String((url[..<colon] + ":***" + url[at...]).prefix(200))
    }

    /// Where the source is, for messages (a URL without its password).
    public var locationDescription: String {
        switch location {
        case .sqlite(let path, let layout): "\(path) table \(layout.table)"
        case .postgres(let url, let layout): "\(Self.redacted(url)) table \(layout.table)"
        case .directory(let path): path
        }
    }
}
