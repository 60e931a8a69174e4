import ArgumentParser
import CMKTenant
import Foundation

/// `cmkctl webhooks ...`: the API keys EventBridge API destinations send KMS events with.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Issue, list and revoke the per-tenant API keys of the KMS event intake (cmkctl serve).",
        subcommands: [WebhooksIssueKeyCommand.self, WebhooksListCommand.self, WebhooksRevokeKeyCommand.self])
}

/// `cmkctl webhooks issue-key --tenant ID`: a new key, printed once.
struct WebhooksIssueKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue-key",
        abstract: "Issue an API key for one tenant's KMS events; it is printed once and only its hash is stored.",
        discussion: """
            Give the key to the tenant's EventBridge API destination (API key authorization, header \
            X-Cmk-Api-Key). Events sent with it can only make cmkctl probe this tenant's keys. Several keys may \
            be active at once, for rotation; revoke the old one with cmkctl webhooks revoke-key.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "The tenant the key is for.")
    var tenant: String

    @OptionGroup var output: OutputOptions

    func validate() throws { try checkTenantOption(tenant) }

    func run() async throws {
        let (record, secret) = WebhookKey.issue(tenant: tenant, at: Date())
        try await options.storeOptions.withStore(create: false) { store in
            try await Self.insert(record, into: store.repository)
        }
        if output.json {
            try printJSON(["id": record.id, "tenant": tenant, "key": secret])
        } else {
            print("key \(record.id) for tenant \(tenant) (shown once; store it in the API destination's connection):")
            print(secret)
        }
    }

    static func insert<Repository: TenantRepository>(_ record: WebhookKey, into repository: Repository) async throws {
        _ = try await repository.write { transaction in
            guard try await repository.tenant(record.tenant, in: transaction) != nil else {
                throw TenantError(.tenantUnknown, "tenant \(record.tenant) is not registered")
            }
            try await repository.insertWebhookKey(record, in: transaction)
            try await AuditLog.append(repository, in: transaction, tenant: record.tenant, kind: .request, action: "webhook key issued",
                                      detail: ["key": record.id], cause: Cause(operatorName: defaultOperatorName()), at: record.createdAt)
        }
    }
}

/// `cmkctl webhooks list [--tenant ID]`.
struct WebhooksListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the API keys (never the keys themselves).")

    @OptionGroup var options: TenantOptions

    @Option(help: "Only this tenant's keys.")
    var tenant: String?

    @OptionGroup var output: OutputOptions

    func validate() throws { try checkTenantOption(tenant) }

    func run() async throws {
        let keys = try await options.storeOptions.withStore(create: false) { store in try await Self.keys(store.repository, tenant: tenant) }
        if output.json {
            try printJSON(keys.map { KeyLine(id: $0.id, tenant: $0.tenant, createdAt: AuditLog.timestamp($0.createdAt),
                                             revokedAt: $0.revokedAt.map(AuditLog.timestamp)) })
        } else if keys.isEmpty {
            print("no API keys")
        } else {
            print(textTable(["ID", "TENANT", "CREATED", "REVOKED"],
                            keys.map { [$0.id, $0.tenant, AuditLog.timestamp($0.createdAt), $0.revokedAt.map(AuditLog.timestamp) ?? "-"] }))
        }
    }

    struct KeyLine: Encodable {
        let id: String
        let tenant: String
        let createdAt: String
        let revokedAt: String?
    }

    static func keys<Repository: TenantRepository>(_ repository: Repository, tenant: String?) async throws -> [WebhookKey] {
        try await repository.read { try await repository.webhookKeys(tenant: tenant, in: $0) }
    }
}

/// `cmkctl webhooks revoke-key --id whk_...`.
struct WebhooksRevokeKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-key", abstract: "Revoke an API key: events sent with it are refused (401) from now on.",
        discussion: "Exit codes: 0 revoked, 67 no such key (or revoked already), 74 store failure.")

    @OptionGroup var options: TenantOptions

    @Option(help: "The key's id (whk_...), from issue-key or list.")
    var id: String

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let revoked = try await options.storeOptions.withStore(create: false) { store in try await Self.revoke(id, in: store.repository) }
        guard revoked else { throw TenantError(.tenantUnknown, "no active API key \(id)") }
        if output.json { try printJSON(["id": id, "revoked": "true"]) } else { print("revoked \(id)") }
    }

    static func revoke<Repository: TenantRepository>(_ id: String, in repository: Repository) async throws -> Bool {
        try await repository.write { transaction in
            guard let key = try await repository.webhookKeys(tenant: nil, in: transaction).first(where: { $0.id == id }),
                  try await repository.revokeWebhookKey(id: id, at: Date(), in: transaction) else { return false }
            try await AuditLog.append(repository, in: transaction, tenant: key.tenant, kind: .request, action: "webhook key revoked",
                                      detail: ["key": id], cause: Cause(operatorName: defaultOperatorName()), at: Date())
            return true
        }
    }
}
