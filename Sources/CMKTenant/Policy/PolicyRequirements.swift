/// What our KMS calls look like, so a key policy can be judged against them.
///
/// The analyzer never sees a live request; it rebuilds the ones cmkctl makes from these values:
/// who calls (`servicePrincipal`), which encryption context the cryptographic calls carry
/// (`contextKey`: `contextValue`), and through which VPC endpoints they arrive.
public struct PolicyRequirements: Sendable, Equatable {
    /// The SaaS's IAM role ARN, e.g. `arn:aws:iam::111122223333:role/cmkctl-service`.
    public var servicePrincipal: String
    /// The encryption-context key of every tenant call, `cmk-tenant` unless configured otherwise.
    public var contextKey: String
    /// The tenant's encryption-context identifier, e.g. `acmeprod-7f3k2q`.
    public var contextValue: String
    /// The VPC endpoints our calls leave through; empty when they do not use VPC endpoints, so
    /// no `aws:SourceVpce` condition is expected (and one present would fail our calls).
    public var vpcEndpointIDs: [String]

    public init(servicePrincipal: String, contextKey: String = "cmk-tenant", contextValue: String, vpcEndpointIDs: [String] = []) {
        self.servicePrincipal = servicePrincipal
        self.contextKey = contextKey
        self.contextValue = contextValue
        self.vpcEndpointIDs = vpcEndpointIDs
    }
}
