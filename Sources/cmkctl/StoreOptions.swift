import ArgumentParser
import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKWorkflow
import Foundation

/// The `--store` option shared by every command that reads or writes the journal and the tenant store:
/// a SQLite file path (the embedded default) or a `postgres://` URL (the scale-out backend).
struct StoreOptions: ParsableArguments {
    /// Relative to the working directory, so each data directory carries its own store.
    static let defaultPath = ".cmkctl/store.sqlite"
    static let environmentVariable = "CMKCTL_STORE"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where the journal and tenant store are: a SQLite file path, or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require] (a missing password is read from PGPASSWORD). Default: $CMKCTL_STORE, else \(StoreOptions.defaultPath) in the working directory.",
            valueName: "path|url"))
    var store: String?

    /// The store this command uses: `--store`, else `$CMKCTL_STORE`, else the default path.
    var location: String {
        if let store { return store }
        if let value = ProcessInfo.processInfo.environment[Self.environmentVariable], !value.isEmpty { return value }
        return Self.defaultPath
    }

    /// For messages: the path, or the URL without its password.
    var locationDescription: String {
        (try? PostgresLocation(url: location)).map(\.description) ?? location
    }

    func validate() throws {
        if PostgresLocation.isPostgresURL(location) {
            do { _ = try PostgresLocation(url: location) } catch let error as PostgresStoreError {
                throw ValidationError(error.message)
            }
        } else if location.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ValidationError("--store: the path contains control characters")
        }
    }

    /// Opens the store, runs `body` on it, and closes it. A SQLite file is created only when `create` is
    /// set (enroll, worker, tenants add): read and admin commands must not create an empty store by accident.
    /// A PostgreSQL database must exist; its tables are created or migrated on open.
    func withStore<T>(create: Bool, _ body: (any StoreBackend) async throws -> T) async throws -> T {
        let store = try await open(create: create)
        do {
            let value = try await body(store)
            await store.close()
            return value
        } catch {
            await store.close()
            throw error
        }
    }

    private func open(create: Bool) async throws -> any StoreBackend {
        if PostgresLocation.isPostgresURL(location) {
            do {
                return try await PostgresStore.open(try PostgresLocation(url: location))
            } catch let error as PostgresStoreError {
                throw WorkflowError(.storeFailure, error.message)
            }
        }
        guard create || FileManager.default.fileExists(atPath: location) else {
            throw WorkflowError(.storeFailure, "no store at \(location) (use --store PATH or URL)")
        }
        return try SQLiteStore(path: location)
    }
}
