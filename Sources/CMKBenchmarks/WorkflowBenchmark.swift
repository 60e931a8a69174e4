import CMKSQLite
import CMKWorkflow
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

    /// Rounds alternate the two measurements so that load from other processes affects both alike.
    public static let rounds = 10

    public func run() async throws -> BenchmarkReport {
        try OwnerOnlyFiles.createDirectories(directory.path)
        let raw = try SQLiteJournal(path: directory.appendingPathComponent("raw-commits.sqlite").path, durability: durability)
        try await raw.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS raw_commits (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        }
        let engine = try SQLiteJournal(path: directory.appendingPathComponent("journal.sqlite").path, durability: durability)
        try await Self.warmUp(raw)
        try await Self.warmUp(engine)
        var rawSeconds = 0.0
        var transitionSeconds = 0.0
        var rawDone = 0
        var executionsDone = 0
        for round in 0..<Self.rounds {
            let rawCount = rawCommits * (round + 1) / Self.rounds - rawDone
            rawSeconds += try await measureRawCommits(raw, count: rawCount, from: rawDone)
            rawDone += rawCount
            let executionCount = executions * (round + 1) / Self.rounds - executionsDone
            transitionSeconds += try await measureTransitions(engine, executions: executionCount, round: round)
            executionsDone += executionCount
        }
        let transitions = executions * chainLength
        let transitionRate = Double(transitions) / transitionSeconds
        let rawRate = Double(rawCommits) / rawSeconds
        return BenchmarkReport(
            store: "sqlite", durability: durability.rawValue, transitions: transitions, transitionSeconds: transitionSeconds,
            transitionsPerSecond: transitionRate, rawCommits: rawCommits, rawSeconds: rawSeconds,
            rawCommitsPerSecond: rawRate, ratio: transitionRate / rawRate)
    }

    /// Brings a new database's write-ahead log to the state of a journal that has been running for a while.
    ///
    /// A fresh WAL file grows with every commit, and on ext4 an fsync of a file that grew also writes its
    /// metadata, which costs up to half again per commit. A running journal's WAL has been checkpointed and
    /// is overwritten in place. Growing both WALs past the auto-checkpoint size (1000 pages) in one untimed
    /// transaction and checkpointing measures both in that steady state; otherwise whichever database
    /// happened to be fresher would look slower.
    static func warmUp(_ journal: SQLiteJournal) async throws {
        try await journal.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS bench_warm_up (payload BLOB NOT NULL)")
            let insert = try db.cachedStatement(sql: "INSERT INTO bench_warm_up (payload) VALUES (zeroblob(4000))")
            for _ in 0..<1100 {
                try insert.execute()
            }
        }
        try await journal.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(RESTART)")
        }
    }

    /// One row per `BEGIN IMMEDIATE ... COMMIT`, the smallest durable write SQLite can do.
    private func measureRawCommits(_ journal: SQLiteJournal, count: Int, from first: Int) async throws -> Double {
        let started = Date()
        for index in first..<(first + count) {
            try await journal.write { db in
                try db.cachedStatement(sql: "INSERT INTO raw_commits (payload) VALUES (?)")
                    .execute(arguments: ["{\"commit\":\(index)}"])
            }
        }
        return Date().timeIntervalSince(started)
    }

    private func measureTransitions(_ journal: SQLiteJournal, executions count: Int, round: Int) async throws -> Double {
        try await Self.measureTransitions(journal, executions: count, chainLength: chainLength, prefix: "bench-\(round)-")
    }

    /// A chain alternating Pass and Task states, one commit per transition, driven by a real worker.
    /// Starting the executions is not timed; claiming them is.
    static func measureTransitions<Journal: WorkflowJournal>(
        _ journal: Journal, executions count: Int, chainLength: Int, prefix: String
    ) async throws -> Double {
        var handlers = HandlerRegistry<Journal.Transaction>()
        handlers.register("bench-echo", .detached { context in .succeeded(context.input) })
        let definition = try DefinitionLoader(handlerNames: handlers.names).load(
            data: Data(Self.chainDefinition(length: chainLength).jsonText.utf8), name: "bench-chain", file: "bench")
        let worker = WorkflowWorker(journal: journal, definitions: [definition], handlers: handlers)
        for index in 0..<count {
            try await worker.start(workflow: definition.name, name: "\(prefix)\(index)", input: ["n": .number(Double(index))])
        }
        let started = Date()
        try await worker.runUntilIdle()
        let elapsed = Date().timeIntervalSince(started)
        // A benchmark of executions that failed early would flatter the engine; refuse to report it.
        let unfinished = try await journal.executions(status: nil).filter { $0.name.hasPrefix(prefix) && $0.status != .succeeded }
        guard unfinished.isEmpty else {
            throw WorkflowError(.storeFailure, "benchmark execution \(unfinished[0].name) ended \(unfinished[0].status.rawValue)")
        }
        return elapsed
    }

    static func chainDefinition(length: Int) -> JSONValue {
        var states: [(String, JSONValue)] = []
        for index in 0..<length {
            var state: JSONObject =
                index % 2 == 0
                ? ["Type": "Pass"]
                : ["Type": "Task", "Resource": .string(TaskSpec.activityPrefix + "bench-echo")]
            if index == length - 1 {
                state["End"] = true
            } else {
                state["Next"] = .string("S\(index + 1)")
            }
            states.append(("S\(index)", .object(state)))
        }
        return ["StartAt": "S0", "States": .object(JSONObject(states))]
    }
}
