import Foundation

/// Where a PostgreSQL store is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]`.
///
/// A missing password is taken from `PGPASSWORD`, so it need not appear on a command line. `sslmode` is
/// `disable`, `prefer` (the default, as libpq's) or `require`. The description never shows the password.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public let user: String
    public let password: String?
    public let host: String
    public let port: Int
    public let database: String
    public let tls: TLSMode

    /// True for the schemes this type reads, so a `--store` value can be told apart from a file path.
    public static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    public init(url value: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func bad(_ reason: String) -> PostgresStoreError {
            PostgresStoreError(.invalidLocation, "store URL \(Self.redacted(value)): \(reason) (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)")
        }
        guard Self.isPostgresURL(value) else { throw bad("not a postgres:// URL") }
        guard value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw bad("control characters")
        }
        guard let components = URLComponents(string: value) else { throw bad("not a URL") }
        guard let user = components.user, !user.isEmpty else { throw bad("no user") }
        guard let host = components.host, !host.isEmpty else { throw bad("no host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database name after the host") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw bad("port out of range") }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw bad("sslmode must be disable, prefer or require")
                }
                tls = mode
            default:
                throw bad("unknown parameter \(item.name)")
            }
        }
        self.user = user
        self.password = components.password ?? environment["PGPASSWORD"]
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
    }

    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    /// `value` with any password replaced, for error messages about a URL that did not parse.
    static func redacted(_ value: String) -> String {
        guard let at = value.lastIndex(of: "@"), let schemeEnd = value.range(of: "://")?.upperBound,
              schemeEnd < at, let colon = value[schemeEnd..<at].firstIndex(of: ":")
        else { return String(value.prefix(200)) }
        return String((value[..<colon] + ":***" + value[at...]).prefix(200))
    }
}
