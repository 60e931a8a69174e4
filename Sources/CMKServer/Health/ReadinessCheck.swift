import CMKTenant

/// One condition `/health/ready` requires: a name for the report and a check that throws when the
/// sidecar should not get traffic. The store is the first; the change-feed listener is meant to be
/// one more (`SidecarConfiguration.readinessChecks`).
public struct ReadinessCheck: Sendable {
    public let name: String
    public let check: @Sendable () async throws -> Void

    public init(name: String, check: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.check = check
    }
}

extension ReadinessCheck {
    /// The store answers a read (of a tenant id that cannot exist, so the cost does not grow with tenants).
    public static func store<Repository: TenantRepository>(_ repository: Repository) -> ReadinessCheck {
        ReadinessCheck(name: "store") {
            _ = try await repository.read { transaction in try await repository.tenant("", in: transaction) }
        }
    }
}
