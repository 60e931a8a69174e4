import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// The options that describe our calls to a tenant's key, shared by `policy check` and `policy template`.
///
/// Each value comes from its flag, else from the tenant store (`--tenant`: the identifier) and the
/// operator configuration (`--config`: principal, context key, VPC endpoints).
struct PolicyRequirementsOptions: ParsableArguments {
    @Option(name: .customLong("principal"), help: ArgumentHelp("The SaaS's IAM role ARN that makes the KMS calls (default: servicePrincipal of the operator configuration).", valueName: "role-arn"))
    var principal: String?

    @Option(name: .customLong("identifier"), help: ArgumentHelp("The tenant's encryption-context identifier, e.g. acmeprod-7f3k2q (or --tenant).", valueName: "value"))
    var identifier: String?

    @Option(name: .customLong("tenant"), help: ArgumentHelp("An enrolled tenant: its identifier is read from the store.", valueName: "id"))
    var tenant: String?

    @Option(name: .customLong("context-key"), help: ArgumentHelp("The encryption-context key (default: contextKey of the operator configuration, cmk-tenant).", valueName: "key"))
    var contextKey: String?

    @Option(name: .customLong("vpce"), help: ArgumentHelp("A VPC endpoint id the calls arrive through (repeatable; default: vpcEndpointIds of the operator configuration).", valueName: "id"))
    var vpcEndpointIDs: [String] = []

    @Option(help: "Operator configuration file (JSON).")
    var config: String = OperatorConfiguration.defaultPath

    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        if let principal { guard principal.hasPrefix("arn:") else { throw ValidationError("--principal \(principal): expected an IAM role ARN") } }
        guard identifier != nil || tenant != nil else { throw ValidationError("give --identifier VALUE or --tenant ID") }
        guard identifier == nil || tenant == nil else { throw ValidationError("give --identifier or --tenant, not both") }
        try checkTenantOption(tenant)
        if let contextKey, contextKey.isEmpty { throw ValidationError("--context-key must not be empty") }
        if let contextKey, contextKey.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ValidationError("--context-key must not hold control characters")
        }
        if let bad = vpcEndpointIDs.first(where: { !$0.hasPrefix("vpce-") }) {
            throw ValidationError("--vpce \(bad): expected a VPC endpoint id (vpce-...)")
        }
    }

    func configuration() throws -> OperatorConfiguration {
        try OperatorConfiguration.load(path: config)
    }

    /// Runs `body` with the store opened once when `--tenant` names a tenant to read, else with nil.
    func withTenantStore<T>(_ body: ((any StoreBackend)?) async throws -> T) async throws -> T {
        guard tenant != nil else { return try await body(nil) }
        return try await storeOptions.withStore(create: false) { try await body($0) }
    }

    /// The requirements from the flags, the operator configuration and, for `--tenant`, `store`.
    func requirements(store: (any TenantRepository)?) async throws -> PolicyRequirements {
        let configuration = try configuration()
        var value = identifier
        if value == nil, let tenant, let store {
            guard let record = try await store.tenant(tenant) else {
                throw TenantError(.unknownTenant, "no tenant \(tenant) in \(storeOptions.locationDescription)")
            }
            guard let assigned = record.contextIdentifier else {
                throw TenantError(.unknownTenant, "tenant \(record.id) has no encryption-context identifier yet (its enrollment has not assigned one)")
            }
            value = assigned
        }
        guard let value else { throw ValidationError("give --identifier VALUE or --tenant ID") }
        return PolicyRequirements(servicePrincipal: principal ?? configuration.servicePrincipal,
                                  contextKey: contextKey ?? configuration.contextKey, contextValue: value,
                                  vpcEndpointIDs: vpcEndpointIDs.isEmpty ? configuration.vpcEndpointIDs : vpcEndpointIDs)
    }
}
