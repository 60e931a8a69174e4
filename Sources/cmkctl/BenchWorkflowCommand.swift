import ArgumentParser
import CMKBenchmarks
import CMKSQLite
import CMKWorkflow
import Foundation

/// `cmkctl bench workflow [--json]`: durable transitions/s against raw SQLite commits/s on the same disk.
struct BenchWorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow", abstract: "Durable state transitions per second vs raw committed SQLite transactions per second.")

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

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard JournalDurability(rawValue: durability) != nil else {
            throw ValidationError("--durability must be full or normal")
        }
        try OptionRange("--executions", 1...100_000, "executions").check(executions)
        try OptionRange("--chain-length", 1...10_000, "states").check(chainLength)
        try OptionRange("--raw-commits", 1...1_000_000, "commits").check(rawCommits)
    }

    func run() async throws {
        try await WorkflowCommandRunner.run {
            let path = directory ?? ".cmkctl/bench-\(UUID().uuidString.prefix(8))"
            let url = URL(fileURLWithPath: path)
            defer { if directory == nil { try? FileManager.default.removeItem(at: url) } }
            let benchmark = WorkflowBenchmark(
                directory: url, durability: JournalDurability(rawValue: durability)!, executions: executions,
                chainLength: chainLength, rawCommits: rawCommits)
            let report = try await benchmark.run()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print("durability          synchronous=\(report.durability.uppercased()), WAL")
                print(String(format: "durable transitions %d in %.3f s = %.0f/s", report.transitions, report.transitionSeconds, report.transitionsPerSecond))
                print(String(format: "raw commits         %d in %.3f s = %.0f/s", report.rawCommits, report.rawSeconds, report.rawCommitsPerSecond))
                print(String(format: "ratio               %.2f (target >= 0.50)", report.ratio))
            }
        }
    }
}
