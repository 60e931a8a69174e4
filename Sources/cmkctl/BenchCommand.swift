import ArgumentParser

/// `cmkctl bench ...`: benchmarks that print figures and their ratios to this machine's limits.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput on this machine and compare it with its limits (build with -c release).",
        subcommands: [
            BenchEnvelopeCommand.self,
            BenchCacheCommand.self,
            BenchKMSCommand.self,
            BenchFeedCommand.self,
            BenchRevocationCommand.self,
            BenchServeCommand.self,
            BenchWorkflowCommand.self,
            BenchReencryptCommand.self,
        ])
}
