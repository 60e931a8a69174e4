import CMKPostgres
import CMKWorkflow
import Foundation
import PostgresNIO

/// Durable state transitions per second on PostgreSQL against the raw single-row INSERT commit rate of the
/// same server, measured in the same run, alternating, so the ratio shows the engine's overhead over what
/// the server allows one client.
///
/// It writes into the database it is given: its executions are named `bench-<run>-…` and removed
/// afterwards with their events, and its raw rows go to a table of its own that is dropped.
public struct PostgresWorkflowBenchmark: Sendable {
    public let location: PostgresLocation
    public let executions: Int
    public let chainLength: Int
    public let rawCommits: Int

    public init(location: PostgresLocation, executions: Int = 20, chainLength: Int = 50, rawCommits: Int = 1000) {
        self.location = location
        self.executions = executions
        self.chainLength = chainLength
        self.rawCommits = rawCommits
    }

    public func run() async throws -> BenchmarkReport {
        let store = try await PostgresStore.open(location, maximumConnections: 2)
        let run = "bench-\(UUID().uuidString.prefix(8).lowercased())"
        let table = "cmkctl_bench_raw_\(run.dropFirst("bench-".count))"
        do {
            let report = try await measure(store, run: run, table: table)
            try await cleanUp(store, run: run, table: table)
            await store.close()
            return report
        } catch {
            try? await cleanUp(store, run: run, table: table)
            await store.close()
            throw error
        }
    }

    private func measure(_ store: PostgresStore, run: String, table: String) async throws -> BenchmarkReport {
        try await store.autocommit(PostgresQuery(unsafeSQL: "CREATE TABLE \(table) (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)"))
        let settings = try await store.autocommit("SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fs")
        let durability = try settings.first.map { row in
            let (commit, fsync) = try row.decode((String, String).self)
            return "synchronous_commit=\(commit), fsync=\(fsync)"
        } ?? "unknown"
        let insert = "INSERT INTO \(table) (payload) VALUES ($1)"
        var rawSeconds = 0.0
        var transitionSeconds = 0.0
        var rawDone = 0
        var executionsDone = 0
        for round in 0..<WorkflowBenchmark.rounds {
            let rawCount = rawCommits * (round + 1) / WorkflowBenchmark.rounds - rawDone
            let started = Date()
            for index in rawDone..<(rawDone + rawCount) {
                var binds = PostgresBindings()
                binds.append("{\"commit\":\(index)}")
                // Autocommit: one statement, one durable commit, one round trip.
                try await store.autocommit(PostgresQuery(unsafeSQL: insert, binds: binds))
            }
            rawSeconds += Date().timeIntervalSince(started)
            rawDone += rawCount
            let executionCount = executions * (round + 1) / WorkflowBenchmark.rounds - executionsDone
            transitionSeconds += try await WorkflowBenchmark.measureTransitions(
                store.journal, executions: executionCount, chainLength: chainLength, prefix: "\(run)-\(round)-")
            executionsDone += executionCount
        }
        let transitions = executions * chainLength
        let transitionRate = Double(transitions) / transitionSeconds
        let rawRate = Double(rawCommits) / rawSeconds
        return BenchmarkReport(
            store: "postgres", durability: durability, transitions: transitions, transitionSeconds: transitionSeconds,
            transitionsPerSecond: transitionRate, rawCommits: rawCommits, rawSeconds: rawSeconds,
            rawCommitsPerSecond: rawRate, ratio: transitionRate / rawRate)
    }

    private func cleanUp(_ store: PostgresStore, run: String, table: String) async throws {
        let pattern = "\(run)-%"
        try await store.autocommit("DELETE FROM events WHERE execution LIKE \(pattern)")
        try await store.autocommit("DELETE FROM executions WHERE name LIKE \(pattern)")
        try await store.autocommit(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(table)"))
    }
}
