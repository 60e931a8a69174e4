import ArgumentParser

/// `cmkctl sources ...`: the data sources the operator configuration declares.
struct SourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources", abstract: "Work with the data sources where applications keep tenant ciphertexts.",
        subcommands: [SourcesCheckCommand.self])
}
