import Foundation
import GRDB

/// Measures durable state transitions per second against the raw single-row commit rate of the same disk.
///
/// Both runs use the same SQLite settings (WAL and the chosen `synchronous`), in the same directory, in the
/// same process, so the ratio shows the engine's overhead over what the journal itself allows.
public struct WorkflowBenchmark: Sendable {
    public let directory: URL
    public let durability: JournalDurability
    public let executions: Int
    public let chainLength: Int
    public let rawCommits: Int

    public init(
        directory: URL, durability: JournalDurability = .full, executions: Int = 20, chainLength: Int = 50,
        rawCommits: Int = 1000
    ) {
        self.directory = directory
        self.durability = durability
        self.executions = executions
        self.chainLength = chainLength
        self.rawCommits = rawCommits
    }

    public func run() async throws -> BenchmarkReport {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let rawSeconds = try measureRawCommits()
        let transitionSeconds = try await measureTransitions()
        let transitions = executions * chainLength
        let transitionRate = Double(transitions) / transitionSeconds
        let rawRate = Double(rawCommits) / rawSeconds
        return BenchmarkReport(
            durability: durability.rawValue, transitions: transitions, transitionSeconds: transitionSeconds,
            transitionsPerSecond: transitionRate, rawCommits: rawCommits, rawSeconds: rawSeconds,
            rawCommitsPerSecond: rawRate, ratio: transitionRate / rawRate)
    }

    /// One row per `BEGIN IMMEDIATE ... COMMIT`, the smallest durable write SQLite can do.
    private func measureRawCommits() throws -> Double {
        let path = directory.appendingPathComponent("raw-commits.sqlite").path
        let journal = try SQLiteJournal(path: path, durability: durability)
        try journal.pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS raw_commits (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        }
        let started = Date()
        for index in 0..<rawCommits {
            try journal.write { db in
                try db.cachedStatement(sql: "INSERT INTO raw_commits (payload) VALUES (?)")
                    .execute(arguments: ["{\"commit\":\(index)}"])
            }
        }
        return Date().timeIntervalSince(started)
    }

    /// A chain alternating Pass and Task states, one commit per transition, driven by a real worker.
    private func measureTransitions() async throws -> Double {
        let path = directory.appendingPathComponent("journal.sqlite").path
        let journal = try SQLiteJournal(path: path, durability: durability)
        var handlers = HandlerRegistry()
        handlers.register("bench-echo", .detached { context in .succeeded(context.input) })
        let definition = try DefinitionLoader(handlerNames: handlers.names).load(
            data: Data(Self.chainDefinition(length: chainLength).jsonText.utf8), name: "bench-chain", file: "bench")
        let worker = WorkflowWorker(journal: journal, definitions: [definition], handlers: handlers)
        let run = UUID().uuidString.prefix(8)
        for index in 0..<executions {
            try worker.start(workflow: definition.name, name: "bench-\(run)-\(index)", input: ["n": .number(Double(index))])
        }
        let started = Date()
        try await worker.runUntilIdle()
        return Date().timeIntervalSince(started)
    }

    static func chainDefinition(length: Int) -> JSONValue {
        var states: [String: JSONValue] = [:]
        for index in 0..<length {
            var state: [String: JSONValue] =
                index % 2 == 0
                ? ["Type": "Pass"]
                : ["Type": "Task", "Resource": .string(TaskSpec.activityPrefix + "bench-echo")]
            if index == length - 1 {
                state["End"] = true
            } else {
                state["Next"] = .string("S\(index + 1)")
            }
            states["S\(index)"] = .object(state)
        }
        return ["StartAt": "S0", "States": .object(states)]
    }
}
