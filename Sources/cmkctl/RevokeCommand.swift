import ArgumentParser
import CMKKMS
import CMKTenant
import Foundation

/// `cmkctl revoke --dry-run --key ARN | --tenant ID`: the blast radius of a key's revocation, before
/// the customer acts.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Show what a key's revocation would do (--dry-run): which tenants would be suspended, what stops.",
        discussion: """
            cmkctl never revokes a customer's key: the customer does, in their own KMS, and cmkctl confirms it by \
            probing (cmkctl sweep probe, or a KMS event at cmkctl serve). This command previews the effect of \
            revoking a key (--key) or all of a tenant's keys (--tenant): for each tenant that has the key, its \
            state and what would follow (suspended, with encrypt and decrypt refused everywhere; an enrollment \
            left waiting for the customer; data under an older generation unreadable).

            Exit codes: 0 preview printed, 64 invalid input (or no --dry-run), 67 no tenant has the key, 74 store failure.
            """)

    @OptionGroup var options: TenantOptions

    @Flag(help: "Only show the effect (required: cmkctl never revokes a key itself).")
    var dryRun = false

    @Option(help: "A key ARN: every tenant with this key in any generation.")
    var key: String?

    @Option(help: "A tenant: all of its keys.")
    var tenant: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard dryRun else {
            throw ValidationError("cmkctl never revokes a key itself (the customer does, in their KMS): use --dry-run to preview the effect, or cmkctl sweep probe --tenant ID to confirm one")
        }
        guard (key == nil) != (tenant == nil) else { throw ValidationError("give exactly one of --key ARN and --tenant ID") }
        if let key {
            do { _ = try KeyARN(validating: key) } catch let error as KMSError { throw ValidationError("--key: \(error.message)") }
        }
        try checkTenantOption(tenant)
    }

    struct Effect: Encodable {
        let tenant: String
        let state: String
        let keys: [String]
        let generations: [Int]
        let currentGeneration: Bool
        let outcome: String
        /// Items under the key's generations as the ledger last counted them (nil: no ledger yet).
        let items: Int?
        /// Restorable backups written under those generations: unreadable once the key is gone.
        let backups: [String]
        /// The re-encryption a suspension would pause, if one is running.
        let pausedReencryption: String?
    }

    func run() async throws {
        let effects = try await options.storeOptions.withStore(create: false) { store in try await Self.effects(store.repository, key: key, tenant: tenant) }
        guard !effects.isEmpty else {
            throw TenantError(.tenantUnknown, key.map { "no tenant has the key \($0)" } ?? "tenant \(tenant ?? "") is not registered")
        }
        if output.json {
            try printJSON(["dryRun": AnyEncodable(true), "tenants": AnyEncodable(effects)])
        } else {
            print(textTable(["TENANT", "STATE", "GENERATIONS", "ITEMS", "BACKUPS", "WOULD"],
                            effects.map { [$0.tenant, $0.state, $0.generations.map(String.init).joined(separator: ","),
                                           $0.items.map(String.init) ?? "no ledger", $0.backups.isEmpty ? "-" : $0.backups.joined(separator: ","),
                                           $0.outcome + ($0.pausedReencryption.map { "; pauses \($0)" } ?? "")] }))
            print("items: the ledger's last count (cmkctl ledger --tenant ID --verify rescans); backups: restorable ones under those generations")
        }
    }

    static func effects<Repository: TenantRepository>(_ repository: Repository, key: String?, tenant: String?) async throws -> [Effect] {
        try await repository.read { transaction in
            var effects: [Effect] = []
            for record in try await repository.tenants(in: transaction) where tenant == nil || record.id == tenant {
                let generations = try await repository.generations(of: record.id, in: transaction).filter { !$0.providerManaged }
                let hit = generations.filter { generation in key.map { key in generation.keys.contains { $0.keyARN == key } } ?? true }
                guard !hit.isEmpty else { continue }
                let current = hit.contains { $0.number == record.generation }
                let outcome: String
                switch record.state {
                case .offboarded: outcome = "nothing: the tenant is offboarded"
                case .suspended: outcome = "nothing new: the tenant is already suspended"
                case .active, .reencrypting:
                    outcome = current
                        ? "be suspended: encrypt and decrypt refused in every process, its cached data keys dropped"
                            + (record.state == .reencrypting ? ", its re-encryption paused" : "")
                        : "not be suspended (generation \(record.generation) is current); data still under generation(s) \(hit.map { String($0.number) }.joined(separator: ",")) would become unreadable"
                default:
                    outcome = "leave its enrollment waiting for the customer (the probe of the new key would fail)"
                }
                let numbers = Set(hit.map(\.number))
                let ledger = try await repository.ledger(tenant: record.id, in: transaction)
                let backups = try await repository.backups(tenant: record.id, in: transaction)
                    .filter { $0.status == .available && numbers.contains($0.generation) }.map(\.id)
                let running = try await repository.reencryptions(tenant: record.id, in: transaction)
                    .first { $0.isOpen && $0.target == record.generation }
                effects.append(Effect(tenant: record.id, state: record.state.rawValue, keys: hit.flatMap(\.keys).map(\.keyARN),
                                      generations: hit.map(\.number), currentGeneration: current, outcome: outcome,
                                      items: ledger.isEmpty ? nil : ledger.filter { numbers.contains($0.generation) }.map(\.items).reduce(0, +),
                                      backups: backups,
                                      pausedReencryption: current && record.state != .suspended ? running?.execution : nil))
            }
            return effects
        }
    }
}

/// Any encodable value, for JSON documents of mixed members.
struct AnyEncodable: Encodable {
    private let encodeValue: (any Encoder) throws -> Void
    init(_ value: some Encodable) { encodeValue = value.encode }
    func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}
