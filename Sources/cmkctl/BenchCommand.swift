import ArgumentParser

/// `cmkctl bench ...`: micro-benchmarks against local servers.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks against local servers.",
        subcommands: [BenchKMSCommand.self]
    )
}
