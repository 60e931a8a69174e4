import ArgumentParser
import CMKTenant

/// The options that describe our calls to a tenant's key, shared by `policy check` and `policy template`.
///
/// `--principal` and `--identifier` are optional in the type so other sources (a tenant store
/// lookup, an operator config file) can supply them later; `validate()` requires them for now.
struct PolicyRequirementsOptions: ParsableArguments {
    @Option(name: .customLong("principal"), help: ArgumentHelp("The SaaS's IAM role ARN that makes the KMS calls (required).", valueName: "role-arn"))
    var principal: String?

    @Option(name: .customLong("identifier"), help: ArgumentHelp("The tenant's encryption-context identifier, e.g. acmeprod-7f3k2q (required).", valueName: "value"))
    var identifier: String?

    @Option(name: .customLong("context-key"), help: ArgumentHelp("The encryption-context key.", valueName: "key"))
    var contextKey: String = "cmk-tenant"

    @Option(name: .customLong("vpce"), help: ArgumentHelp("A VPC endpoint id the calls arrive through (repeatable); none: no aws:SourceVpce condition expected.", valueName: "id"))
    var vpcEndpointIDs: [String] = []

    func validate() throws {
        guard let principal, !principal.isEmpty else { throw ValidationError("give --principal ROLE_ARN") }
        guard principal.hasPrefix("arn:") else { throw ValidationError("--principal \(principal): expected an IAM role ARN") }
        guard let identifier, !identifier.isEmpty else { throw ValidationError("give --identifier VALUE") }
        guard !contextKey.isEmpty else { throw ValidationError("--context-key must not be empty") }
        if let bad = vpcEndpointIDs.first(where: { !$0.hasPrefix("vpce-") }) {
            throw ValidationError("--vpce \(bad): expected a VPC endpoint id (vpce-...)")
        }
    }

    func requirements() throws -> PolicyRequirements {
        guard let principal, let identifier else { throw ValidationError("give --principal and --identifier") }
        return PolicyRequirements(servicePrincipal: principal, contextKey: contextKey, contextValue: identifier, vpcEndpointIDs: vpcEndpointIDs)
    }
}
