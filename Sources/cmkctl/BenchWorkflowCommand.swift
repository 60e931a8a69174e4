import ArgumentParser
import CMKBenchmarks
import CMKPostgres
import CMKSQLite
import CMKWorkflow
import Foundation

/// `cmkctl bench workflow [--store postgres://...] [--json]`: durable transitions/s against the raw
/// single-row commit rate of the same store (a SQLite file on the same disk, or the same PostgreSQL server).
struct BenchWorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow",
        abstract: "Durable state transitions per second vs raw single-row commits per second on the same store.",
        discussion: """
            Without --store: two SQLite files in --directory (WAL, --durability). With --store postgres://...: the \
            engine's journal tables in that database and a raw single-row INSERT (autocommit) on the same server, \
            alternating in 10 rounds; the benchmark's executions and its raw table are removed afterwards. Use a \
            scratch database.
            """)

    @Option(help: ArgumentHelp("A PostgreSQL database to measure instead of SQLite: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.", valueName: "url"))
    var store: String?

    @Option(help: "Directory for the benchmark's databases (removed afterwards). Default: .cmkctl/bench-<random>.")
    var directory: String?

    @Option(help: "SQLite synchronous setting: full or normal.")
    var durability: String = JournalDurability.full.rawValue

    @Option(help: "Executions to run.")
    var executions = 20

    @Option(help: "States per execution (alternating Pass and Task).")
    var chainLength = 50

    @Option(help: "Raw single-row commits to measure.")
    var rawCommits = 1000

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let store {
            do { _ = try PostgresLocation(url: store) } catch let error as PostgresStoreError { throw ValidationError("--store: \(error.message)") }
        }
        guard JournalDurability(rawValue: durability) != nil else {
            throw ValidationError("--durability must be full or normal")
        }
        try OptionRange("--executions", 1...100_000, "executions").check(executions)
        try OptionRange("--chain-length", 1...10_000, "states").check(chainLength)
        try OptionRange("--raw-commits", 1...1_000_000, "commits").check(rawCommits)
    }

    func run() async throws {
        let report: BenchmarkReport
        if let store {
            do {
                report = try await PostgresWorkflowBenchmark(
                    location: try PostgresLocation(url: store), executions: executions, chainLength: chainLength,
                    rawCommits: rawCommits
                ).run()
            } catch let error as PostgresStoreError {
                throw WorkflowError(.storeFailure, error.message)
            }
        } else {
            let path = directory ?? ".cmkctl/bench-\(UUID().uuidString.prefix(8))"
            let url = URL(fileURLWithPath: path)
            defer { if directory == nil { try? FileManager.default.removeItem(at: url) } }
            report = try await WorkflowBenchmark(
                directory: url, durability: JournalDurability(rawValue: durability)!, executions: executions,
                chainLength: chainLength, rawCommits: rawCommits
            ).run()
        }
        if output.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("store               \(report.store)")
            print("durability          " + (report.store == "sqlite" ? "synchronous=\(report.durability.uppercased()), WAL" : report.durability))
            print(String(format: "durable transitions %d in %.3f s = %.0f/s", report.transitions, report.transitionSeconds, report.transitionsPerSecond))
            print(String(format: "raw commits         %d in %.3f s = %.0f/s", report.rawCommits, report.rawSeconds, report.rawCommitsPerSecond))
            print(String(format: "ratio               %.2f (target >= 0.50)", report.ratio))
        }
    }
}
