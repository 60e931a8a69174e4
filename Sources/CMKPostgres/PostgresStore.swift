import CMKTenant
import CMKWorkflow
import Foundation
import Logging
import PostgresNIO

/// The scale-out store: the journal and the tenant repository on one PostgreSQL database, shared by any
/// number of processes on any number of hosts.
///
/// It owns a `PostgresClient` (a connection pool) and the task that runs it; `close()` ends both.
/// Opening applies the pending migrations of the journal and the tenant tables.
public final class PostgresStore: StoreBackend {
    public let journal: PostgresJournal
    public let repository: PostgresTenantRepository
    public let location: PostgresLocation
    private let client: PostgresClient
    private let runner: Task<Void, Never>

    public var locationDescription: String { location.description }

    /// Errors only: PostgresNIO's warnings (a lease asked for while the pool's task is still starting)
    /// would be noise on a command's stderr.
    public static var defaultLogger: Logger {
        var logger = Logger(label: "cmkctl.postgres")
        logger.logLevel = .error
        return logger
    }

    /// Connects (waiting up to `connectTimeout` for the server) and migrates.
    public static func open(
        _ location: PostgresLocation, maximumConnections: Int = 8, connectTimeout: Duration = .seconds(10),
        logger: Logger = PostgresStore.defaultLogger
    ) async throws -> PostgresStore {
        // One plain connection first: the pool retries a refused or failed login in the background, so
        // without this a wrong host, password or database would only show as a long wait.
        do {
            try await probe(location, connectTimeout: connectTimeout, logger: logger)
        } catch {
            throw PostgresStoreError(.unavailable, "cannot open the store at \(location): \(describe(error))")
        }
        let tls: PostgresClient.Configuration.TLS =
            switch location.tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        let store = PostgresStore(location: location, client: client, runner: runner, logger: logger)
        do {
            try await PostgresSchema.migrate(store.journal)
        } catch {
            await store.close()
            throw PostgresStoreError(.unavailable, "cannot open the store at \(location): \(describe(error))")
        }
        return store
    }

    private static func probe(_ location: PostgresLocation, connectTimeout: Duration, logger: Logger) async throws {
        let tls: PostgresConnection.Configuration.TLS =
            switch location.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout.components.seconds * 1000))
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try await connection.close()
    }

    private init(location: PostgresLocation, client: PostgresClient, runner: Task<Void, Never>, logger: Logger) {
        self.location = location
        self.client = client
        self.runner = runner
        journal = PostgresJournal(client: client, logger: logger)
        repository = PostgresTenantRepository(journal: journal)
    }

    /// Runs one statement outside any transaction (autocommit): for tools such as the benchmark, which
    /// measure the server's single-statement commit rate.
    @discardableResult
    public func autocommit(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.query(query, logger: journal.logger).collect()
    }

    public func close() async {
        journal.stopListening()
        runner.cancel()
        await runner.value
    }
}
