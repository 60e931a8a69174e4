import PostgresNIO

/// A failure of the PostgreSQL backend itself: an unusable URL, or a server that cannot be reached.
/// Failures inside journal and repository calls are reported as `WorkflowError`/`TenantError` store failures.
public struct PostgresStoreError: Error, CustomStringConvertible, Sendable {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The `--store` URL does not parse.
        public static let invalidLocation = Code(rawValue: "invalid-location")
        /// The server did not answer, refused the login, or a migration failed.
        public static let unavailable = Code(rawValue: "unavailable")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// One line about a database error: the server's SQLSTATE and message, or the client's code and cause.
/// Never the query's bound values, which `String(reflecting:)` would include.
func describe(_ error: any Error) -> String {
    if let error = error as? PostgresTransactionError {
        if let inner = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError {
            return describe(inner)
        }
    }
    if let error = error as? PostgresDecodingError {
        // Never the cell's bytes: the column, the types and what went wrong.
        return "column \(error.columnName) (\(error.postgresType)) cannot be read as \(error.targetType): \(error.code)"
    }
    guard let error = error as? PSQLError else { return "\(error)" }
    if let info = error.serverInfo {
        let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
        return (info[.message] ?? "server error") + state
    }
    if let underlying = error.underlying {
        return "\(error.code): \(underlying)"
    }
    return "\(error.code)"
}

/// The SQLSTATE of a server error, looking through transaction wrappers.
func sqlState(of error: any Error) -> String? {
    if let error = error as? PostgresTransactionError {
        return (error.closureError ?? error.beginError ?? error.commitError).flatMap(sqlState(of:))
    }
    return (error as? PSQLError)?.serverInfo?[.sqlState]
}
