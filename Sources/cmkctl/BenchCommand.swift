import ArgumentParser

/// `cmkctl bench ...`: measurements reported next to their baselines.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.", subcommands: [BenchWorkflowCommand.self])
}
