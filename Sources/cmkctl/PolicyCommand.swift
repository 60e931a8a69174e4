import ArgumentParser

/// `cmkctl policy ...`: check a tenant's KMS key policy, or print the statements it needs.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check a KMS key policy against cmkctl's calls for a tenant, or print the statements to add.",
        subcommands: [
            PolicyCheckCommand.self,
            PolicyTemplateCommand.self,
        ]
    )
}
