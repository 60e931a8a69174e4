import ArgumentParser

/// `cmkctl tenants ...`: tenants before and outside enrollment.
struct TenantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants", abstract: "Add tenants before they enroll (on the provider's key, with their context identifier).",
        subcommands: [TenantsAddCommand.self])
}
