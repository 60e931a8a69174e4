import CMKTesting
import CMKWorkflow
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The handlers of the test suite's example workflow (`Tests/Fixtures/workflows/example.asl.json`), on
/// either backend. The product does not carry them: `cmkctl worker` runs only the enrollment handlers;
/// the test worker (`cmkctl-testworker`) and in-process tests register these.
public enum ExampleHandlers {
    /// The activity names `registry` registers.
    public static let names: Set<String> = ["record-rotation", "notify-tenant", "await-approval", "exclusive-step"]

    /// `Tests/Fixtures/workflows/example.asl.json`.
    public static var definitionFile: URL {
        CLIRunner.packageRoot.appendingPathComponent("Tests/Fixtures/workflows/example.asl.json")
    }

    /// - `record-rotation` (transactional) adds a rotation in the step's transaction: exactly once.
    /// - `notify-tenant` (detached, at-least-once) hands its idempotency key to `recordEffect`, then fails
    ///   with `Notify.Unavailable` while the attempt is at most the input's `flaky`.
    /// - `await-approval` parks until a signal.
    /// - `exclusive-step` records its run (process, start and end time) in transactions of its own around a
    ///   sleep of the input's `sleepSeconds` (default 0.2): overlapping runs would show two workers in one state.
    public static func registry<Tables: ExampleTables>(
        tables: Tables, recordEffect: (@Sendable (String) throws -> Void)? = nil
    ) -> HandlerRegistry<Tables.Transaction> {
        var registry = HandlerRegistry<Tables.Transaction>()
        registry.register("record-rotation", .transactional { context, transaction in
            let tenant = context.input["tenant"]?.stringValue ?? "unknown"
            let rotation = try await tables.insertRotation(
                execution: context.request.execution, tenant: tenant, in: transaction)
            return .succeeded(["rotationId": .number(Double(rotation))])
        })
        registry.register("notify-tenant", .detached { context in
            try recordEffect?(context.idempotencyKey)
            let failures = Int(context.input["flaky"]?.numberValue ?? 0)
            if context.attempt <= failures {
                throw TaskFailure(error: "Notify.Unavailable", cause: "simulated outage, attempt \(context.attempt)")
            }
            return .succeeded(["key": .string(context.idempotencyKey)])
        })
        registry.register("await-approval", .detached { _ in .parked })
        registry.register("exclusive-step", .detached { context in
            let pid = Int(ProcessInfo.processInfo.processIdentifier)
            let started = Date().timeIntervalSince1970
            let key = context.idempotencyKey
            let run = try await tables.transaction { transaction in
                try await tables.insertRun(key: key, pid: pid, started: started, in: transaction)
            }
            // From the execution's input: NaN, negative or huge values must not trap in Duration.seconds.
            let requested = context.input["sleepSeconds"]?.numberValue ?? 0.2
            let seconds = requested.isNaN ? 0 : min(max(requested, 0), 3_600)
            try await Task.sleep(for: .seconds(seconds))
            let ended = Date().timeIntervalSince1970
            try await tables.transaction { transaction in try await tables.endRun(id: run, ended: ended, in: transaction) }
            return .succeeded(context.input)
        })
        return registry
    }

    /// A `recordEffect` that appends each key as a line to the file at `path` (created 0600), with one
    /// `write` in append mode, so several processes can share the file.
    public static func appendingLines(to path: String) -> @Sendable (String) throws -> Void {
        { line in
            let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
            guard descriptor >= 0 else { throw TaskFailure(error: "Effects.Unwritable", cause: path) }
            defer { close(descriptor) }
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
    }
}
