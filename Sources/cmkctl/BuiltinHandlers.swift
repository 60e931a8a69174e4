import CMKSQLite
import CMKTenant
import CMKWorkflow
import Foundation
import GRDB

/// The task handlers this binary ships, by activity name; `workflows validate` checks definitions against them.
///
/// `registry` holds the handlers of `Workflows/example.asl.json`, which the test suite also uses to
/// exercise crash recovery; the tenant lifecycle's handlers (`EnrollmentHandlers`) need the tenant store
/// and KMS, so `TenantRuntime` adds them. The examples write SQL, so they are typed for the SQLite backend.
enum BuiltinHandlers {
    /// Every activity name this binary can run: the examples' and the tenant lifecycle's.
    static var names: Set<String> {
        registry(effectsLog: nil, journal: nil).names.union(EnrollmentWorkflow.handlerNames)
    }

    /// - Parameters:
    ///   - effectsLog: a file to which at-least-once effects append their idempotency key, one per line.
    ///   - journal: the journal the worker uses, for handlers that record their own runs.
    static func registry(effectsLog: String?, journal: SQLiteJournal?) -> HandlerRegistry<SQLiteTransaction> {
        var registry = HandlerRegistry<SQLiteTransaction>()
        registry.register("record-rotation", .transactional { context, transaction in
            let tenant = context.input["tenant"]?.stringValue ?? "unknown"
            let execution = context.request.execution
            let rotation = try await transaction.execute { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS example_rotations (
                            id INTEGER PRIMARY KEY, execution TEXT NOT NULL, tenant TEXT NOT NULL)
                        """)
                try db.execute(
                    sql: "INSERT INTO example_rotations (execution, tenant) VALUES (?, ?)",
                    arguments: [execution, tenant])
                return db.lastInsertedRowID
            }
            return .succeeded(["rotationId": .number(Double(rotation))])
        })
        registry.register("notify-tenant", .detached { context in
            if let effectsLog { try appendLine(context.idempotencyKey, to: effectsLog) }
            let failures = Int(context.input["flaky"]?.numberValue ?? 0)
            if context.attempt <= failures {
                throw TaskFailure(error: "Notify.Unavailable", cause: "simulated outage, attempt \(context.attempt)")
            }
            return .succeeded(["key": .string(context.idempotencyKey)])
        })
        registry.register("await-approval", .detached { _ in .parked })
        registry.register("exclusive-step", .detached { context in
            guard let journal else { return .succeeded(context.input) }
            let pid = Int(ProcessInfo.processInfo.processIdentifier)
            let started = Date().timeIntervalSince1970
            let runID = try await journal.pool.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS example_runs (id INTEGER PRIMARY KEY, key TEXT NOT NULL,
                            pid INTEGER NOT NULL, started REAL NOT NULL, ended REAL)
                        """)
                try db.execute(
                    sql: "INSERT INTO example_runs (key, pid, started) VALUES (?, ?, ?)",
                    arguments: [context.idempotencyKey, pid, started])
                return db.lastInsertedRowID
            }
            // From the execution's input: NaN, negative or huge values must not trap in Duration.seconds.
            let requested = context.input["sleepSeconds"]?.numberValue ?? 0.2
            let seconds = requested.isNaN ? 0 : min(max(requested, 0), 3_600)
            try await Task.sleep(for: .seconds(seconds))
            try await journal.pool.write { db in
                try db.execute(
                    sql: "UPDATE example_runs SET ended = ? WHERE id = ?",
                    arguments: [Date().timeIntervalSince1970, runID])
            }
            return .succeeded(context.input)
        })
        return registry
    }

    private static func appendLine(_ line: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard descriptor >= 0 else { throw TaskFailure(error: "Effects.Unwritable", cause: path) }
        defer { close(descriptor) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
