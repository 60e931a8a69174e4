import Foundation

/// A tenant added before it enrolls (`cmkctl tenants add`): it gets its context identifier at once and
/// works on the provider's key (generation 0), so applications can encrypt its data from day one.
public struct TenantRegistration: Sendable, Equatable {
    public let tenant: String
    public let tag: ContextTag
    public let operatorName: String

    /// Checks the tenant id, the tag, the operator name and the operator's tenant list, as `enroll` does.
    public init(tenant: String, tag: String, operatorName: String, configuration: OperatorConfiguration) throws {
        try EnrollmentRequest.checkTenantID(tenant)
        try EnrollmentRequest.checkOperatorName(operatorName)
        if let allowed = configuration.tenants, !allowed.contains(tenant) {
            throw TenantError(.unknownTenant, "tenant \"\(tenant)\" is not in the operator's tenant list")
        }
        self.tenant = tenant
        self.tag = try ContextTag(tag)
        self.operatorName = operatorName
    }

    /// Adds the tenant (`created`), or returns it unchanged when it exists with the same tag; another
    /// tag is refused, since the identifier made from it is immutable.
    public func add(to repository: some TenantRepository, providerKey: String, now: Date = Date()) async throws -> (
        record: TenantRecord, created: Bool
    ) {
        let registration = self
        let cause = Cause(operatorName: operatorName)
        return try await repository.write { transaction in
            try await repository.add(
                tenant: registration.tenant, tag: registration.tag, providerKey: providerKey,
                candidate: {
                    var generator = SystemRandomNumberGenerator()
                    return ContextIdentifier.generate(tag: registration.tag, using: &generator)
                },
                cause: cause, now: now, in: transaction)
        }
    }
}
