import ArgumentParser
import CMKTenant
import Foundation

/// `cmkctl tenants add`: registers a tenant on the provider's key so it has a context identifier at once.
struct TenantsAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register a tenant on the provider's key (generation 0) with its encryption-context identifier.",
        discussion: """
            The tenant is 'registered': applications can encrypt its data under the provider's key with its \
            identifier from now on, and a later `cmkctl enroll` moves it to its own keys, keeping the identifier \
            (a different --tag is refused). Adding an existing tenant with the same tag reports it unchanged.

            Exit codes: 0 added or already registered with this tag, 4 the tenant exists with another tag, \
            64 invalid input, 67 tenant not in the operator's list, 74 store failure, 78 configuration.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "Tenant id (letters, digits, '-', '_', '.').")
    var tenant: String

    @Option(help: "Human-readable tag for the encryption-context identifier: 1 to 12 ASCII letters and digits, immutable.")
    var tag: String

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let configuration = try options.configuration()
        let registration = try TenantRegistration(tenant: tenant, tag: tag, operatorName: operatorName, configuration: configuration)
        let (added, status) = try await options.storeOptions.withStore(create: true) { store in
            try await Self.add(registration, to: store, providerKey: configuration.providerKey)
        }
        guard let status else {
            throw TenantError(.storeFailure, "tenant \(tenant) vanished from the store")
        }
        if output.json {
            try printJSON(EnrollResult(created: added.created, status: status))
        } else {
            print(added.created ? "tenant added: \(tenant)" : "tenant already registered: \(tenant)")
            print(StatusTable.describe(status))
        }
    }

    private static func add<Store: StoreBackend>(_ registration: TenantRegistration, to store: Store, providerKey: String) async throws
        -> (added: (record: TenantRecord, created: Bool), status: TenantStatus?)
    {
        let added = try await registration.add(to: store.repository, providerKey: providerKey)
        let status = try await TenantOverview(journal: store.journal, repository: store.repository)
            .status(tenant: registration.tenant).first
        return (added, status)
    }
}
