import ArgumentParser
import CMKTenant
import Foundation

/// `cmkctl generations`: a tenant's key generations, and retiring one nothing is left under.
struct GenerationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generations",
        abstract: "List a tenant's key generations with their items and backups, or retire one.",
        subcommands: [GenerationsListCommand.self, GenerationsRetireCommand.self],
        defaultSubcommand: GenerationsListCommand.self)
}

struct GenerationsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List a tenant's key generations: keys, items per the ledger, backups, retired or not.")

    @OptionGroup var options: TenantOptions

    @Option(help: "The tenant.")
    var tenant: String

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    struct Row: Encodable {
        let generation: Int
        let current: Bool
        let providerManaged: Bool
        let keys: [String]
        let createdAt: String
        let retiredAt: String?
        /// Items under it as the ledger last counted them (nil: no ledger yet).
        let items: Int?
        let backups: [String]
    }

    func run() async throws {
        let rows = try await options.storeOptions.withStore(create: false) { store in try await list(store) }
        if output.json {
            try printJSON(rows)
            return
        }
        print(textTable(["GENERATION", "STATE", "ITEMS", "BACKUPS", "KEYS"], rows.map { row in
            let state = row.retiredAt.map { "retired \($0)" } ?? (row.current ? "current" : "readable")
            return [String(row.generation) + (row.providerManaged ? " (provider)" : ""), state, row.items.map(String.init) ?? "-",
                    row.backups.isEmpty ? "-" : row.backups.joined(separator: ","), row.keys.joined(separator: " ")]
        }))
    }

    private func list<Store: StoreBackend>(_ store: Store) async throws -> [Row] {
        let runtime = try options.runtime(store)
        let repository = runtime.repository
        guard let record = try await repository.tenant(tenant) else {
            throw TenantError(.tenantUnknown, "tenant \(tenant) is not registered")
        }
        let ledger = try await repository.read { try await repository.ledger(tenant: tenant, in: $0) }
        var rows: [Row] = []
        for generation in try await repository.generations(of: tenant) {
            let counted = ledger.filter { $0.generation == generation.number }
            rows.append(Row(generation: generation.number, current: generation.number == record.generation,
                            providerManaged: generation.providerManaged, keys: generation.keys.map(\.keyARN),
                            createdAt: AuditLog.timestamp(generation.createdAt), retiredAt: generation.retiredAt.map(AuditLog.timestamp),
                            items: ledger.isEmpty ? nil : counted.map(\.items).reduce(0, +),
                            backups: try await BackupPreview.restorable(tenant: tenant, generation: generation.number, runtime: runtime)))
        }
        return rows
    }
}

struct GenerationsRetireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Retire a generation: its keys no longer decrypt anything. Refused while anything is left under it.",
        discussion: """
            First scans every configured data source (the ledger's --verify scan, which also corrects the \
            ledger) and the backup catalogue: while any item or any restorable backup is under the generation, \
            the retirement is refused, naming what is left. The current generation cannot be retired. Once \
            retired, the generation's keys are no longer used to decrypt, and every process drops its cached \
            materials (the tenant change feed).

            Exit codes: 0 retired (or retired already), 4 refused: something is still under it, 64 the current \
            generation or one the tenant does not have, 67 unknown tenant.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Option(help: "The generation number to retire.")
    var generation: Int

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    struct Result: Encodable {
        let tenant: String
        let generation: Int
        let retired: Bool
        let items: [String: Int]
        let backups: [String]
    }

    func run() async throws {
        let result = try await options.storeOptions.withStore(create: false) { store in try await retire(store) }
        if output.json {
            try printJSON(result)
        } else {
            print("\(tenant): generation \(generation) retired; its keys no longer decrypt anything".escapingControlCharacters)
        }
    }

    private func retire<Store: StoreBackend>(_ store: Store) async throws -> Result {
        let runtime = try options.runtime(store)
        let repository = runtime.repository
        guard let record = try await repository.tenant(tenant) else {
            throw TenantError(.tenantUnknown, "tenant \(tenant) is not registered")
        }
        let generations = try await repository.generations(of: tenant)
        guard let target = generations.first(where: { $0.number == generation }) else {
            throw ValidationError("tenant \(tenant) has no generation \(generation) (it has \(generations.map { String($0.number) }.joined(separator: ", ")))")
        }
        guard generation != record.generation else {
            throw ValidationError("generation \(generation) is tenant \(tenant)'s current one: rotate first, then retire it")
        }
        if target.retiredAt != nil {
            return Result(tenant: tenant, generation: generation, retired: true, items: [:], backups: [])
        }
        // The gate: a verified scan, not the ledger as it was, and the backup catalogue.
        let scanned = try await LedgerVerification.scan(tenant: tenant, runtime: runtime)
        let at = Date()
        try await LedgerVerification.save(scanned, tenant: tenant, at: at, repository: repository)
        var left: [String: Int] = [:]
        for (source, counts) in scanned where (counts[generation] ?? 0) > 0 {
            left[source] = counts[generation]
        }
        let backups = try await BackupPreview.restorable(tenant: tenant, generation: generation, runtime: runtime)
        if !left.isEmpty || !backups.isEmpty {
            var reasons: [String] = []
            if !left.isEmpty {
                reasons.append("items under it: " + left.sorted { $0.key < $1.key }.map { "\($0.value) in \($0.key)" }.joined(separator: ", ")
                    + " (run cmkctl reencrypt --tenant \(tenant))")
            }
            if !backups.isEmpty { reasons.append("restorable backups: " + backups.joined(separator: ", ")) }
            throw CommandFailure(status: .conflict, message: "generation \(generation) of \(tenant) cannot be retired: " + reasons.joined(separator: "; "))
        }
        let operatorName = operatorName
        let tenantID = tenant, number = generation
        try await repository.write { transaction in
            guard try await repository.retireGeneration(tenant: tenantID, number: number, at: at, in: transaction) else { return }
            try await AuditLog.append(repository, in: transaction, tenant: tenantID, kind: .transition, action: "generation \(number) retired",
                                      detail: ["keys": target.keys.map(\.keyARN).joined(separator: ",")],
                                      cause: Cause(operatorName: operatorName), at: at)
        }
        return Result(tenant: tenant, generation: generation, retired: true, items: [:], backups: [])
    }
}
