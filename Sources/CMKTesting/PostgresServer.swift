import Foundation
import Synchronization

/// A throwaway PostgreSQL server for tests and benchmarks, started by `scripts/postgres` (which installs
/// the Debian package when missing, runs initdb in a temporary directory and listens on one address).
///
/// `shared()` is the suite's server: the one `scripts/test` started (`CMK_TEST_POSTGRES_URL`), or else
/// one this process starts on loopback and stops when it exits. Each test takes a database of its own
/// (`freshDatabase`). A server that cannot start is an error, never a skipped test.
public final class PostgresServer: Sendable {
    /// `postgres://cmkctl@HOST:PORT/cmkctl`: the server's maintenance database.
    public let url: String
    public let host: String
    public let port: Int
    /// The directory `scripts/postgres` initialised; nil for a server started elsewhere.
    let directory: String?
    let namespace: String?
    let packageRoot: String

    public static let environmentVariable = "CMK_TEST_POSTGRES_URL"

    private init(url: String, directory: String?, namespace: String?, packageRoot: String) throws {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
            throw PostgresServerError("unusable server URL \(url)")
        }
        self.url = url
        self.host = host
        self.port = port
        self.directory = directory
        self.namespace = namespace
        self.packageRoot = packageRoot
    }

    /// Starts a server listening on `host` (in network namespace `namespace`, when given).
    ///
    /// `host` may list several addresses (`127.0.0.1,10.77.1.1`); `url`, `host` and `sql` then use the
    /// first, since in a URL every further host would need its own port.
    public static func start(packageRoot: String, host: String = "127.0.0.1", namespace: String? = nil) throws -> PostgresServer {
        // In /tmp, not $TMPDIR: the server runs as the postgres user, which must reach the directory.
        let directory = "/tmp/cmkctl-pg-\(UUID().uuidString.prefix(8))"
        var command = [packageRoot + "/scripts/postgres", "start", directory, "--host", host]
        if let namespace { command = ["ip", "netns", "exec", namespace] + command }
        let output = try run(command)
        guard let printed = output.split(separator: "\n").last.map(String.init), printed.hasPrefix("postgres://"),
              let port = URLComponents(string: printed)?.port, let first = host.split(separator: ",").first
        else {
            throw PostgresServerError("scripts/postgres printed no URL: \(output)")
        }
        return try PostgresServer(url: "postgres://cmkctl@\(first):\(port)/cmkctl", directory: directory, namespace: namespace,
                                  packageRoot: packageRoot)
    }

    private static let sharedServer = Mutex<Result<PostgresServer, PostgresServerError>?>(nil)

    /// The suite's one server (see the type's comment).
    public static func shared(packageRoot: String) throws -> PostgresServer {
        try sharedServer.withLock { cached in
            if let cached { return try cached.get() }
            let result: Result<PostgresServer, PostgresServerError>
            if let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty {
                result = Result { try PostgresServer(url: url, directory: nil, namespace: nil, packageRoot: packageRoot) }
                    .mapError { $0 as? PostgresServerError ?? PostgresServerError("\($0)") }
            } else {
                result = Result { try start(packageRoot: packageRoot) }
                    .mapError { $0 as? PostgresServerError ?? PostgresServerError("\($0)") }
                if case .success = result { atexit { PostgresServer.stopShared() } }
            }
            cached = result
            return try result.get()
        }
    }

    private static func stopShared() {
        if case .success(let server) = sharedServer.withLock({ $0 }) { server.stop() }
    }

    /// Creates an empty database and returns its URL (`postgres://cmkctl@HOST:PORT/NAME`).
    public func freshDatabase(_ label: String = "t") throws -> String {
        let safe = label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(20)
        let name = "\(safe)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try sql("CREATE DATABASE \(name)")
        return "postgres://cmkctl@\(host):\(port)/\(name)"
    }

    /// Runs SQL through `psql` on the maintenance database (or `database`), returning its unaligned output.
    @discardableResult
    public func sql(_ statement: String, database: String? = nil) throws -> String {
        var target = url
        if let database, let slash = url.lastIndex(of: "/") { target = url[..<slash] + "/" + database }
        var command = ["psql", target, "-v", "ON_ERROR_STOP=1", "-qAtc", statement]
        if let namespace { command = ["ip", "netns", "exec", namespace] + command }
        return try Self.run(command)
    }

    /// Lets clients from `network` (CIDR, `10.77.0.0/16`) connect without a password as loopback ones may:
    /// for a server that processes in other network namespaces reach. The server reloads its rules a
    /// moment after this returns, so a first connection from there may still be refused.
    public func trust(clientsFrom network: String) throws {
        guard let directory else { throw PostgresServerError("a server started elsewhere keeps its own pg_hba.conf") }
        let rules = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/data/pg_hba.conf"))
        defer { try? rules.close() }
        try rules.seekToEnd()
        try rules.write(contentsOf: Data("host all all \(network) trust\n".utf8))
        try sql("SELECT pg_reload_conf()")
    }

    /// Fast shutdown and removal of the data directory (a server started elsewhere is left alone).
    public func stop() {
        guard let directory else { return }
        var command = [packageRoot + "/scripts/postgres", "stop", directory]
        if let namespace { command = ["ip", "netns", "exec", namespace] + command }
        _ = try? Self.run(command)
    }

    /// Runs a command to completion; its stdout, or an error with its stderr. Through `ChildProcess.run`,
    /// because `scripts/postgres start` leaves the server running.
    static func run(_ command: [String]) throws -> String {
        let result = try ChildProcess.run(command)
        guard result.status == 0 else {
            throw PostgresServerError(
                "\(command.prefix(4).joined(separator: " ")) exited \(result.status): "
                    + result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct PostgresServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
