import ArgumentParser
import CMKTenant

/// `cmkctl policy template --tenant ID` (or `--identifier VALUE`): prints the key policy
/// statements a customer adds for one tenant.
struct PolicyTemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Print the key policy statements a tenant's key needs, as a JSON list.",
        discussion: """
        Paste the printed statements into the key policy's Statement list. The first grants the \
        cryptographic calls under the tenant's encryption context; the second grants DescribeKey and \
        GetKeyPolicy, which carry no encryption context. With --vpce both require aws:SourceVpce.
        """
    )

    @OptionGroup var options: PolicyRequirementsOptions

    @Flag(help: "Print a whole key policy document holding the two statements (for a new key, or `cmkctl kms put-policy`), not just the list.")
    var document = false

    func run() async throws {
        let requirements = try await options.withTenantStore { try await options.requirements(store: $0?.repository) }
        print(document ? PolicyTemplate.document(for: requirements) : PolicyTemplate.statements(for: requirements))
    }
}
