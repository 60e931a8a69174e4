import ArgumentParser
import CMKKMS
import CMKTenant
import Foundation

/// `cmkctl ledger`: how many of a tenant's items each data source holds under each generation.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Show a tenant's items per data source and key generation; --verify rescans and corrects.",
        discussion: """
            The ledger is written by every completed re-encryption (its verifying pass) and by --verify. \
            --verify reads every item's header in every configured data source (no data key is unwrapped, \
            nothing else is written), replaces the stored counts with what it found, and reports each \
            difference, so an application that wrote around cmkctl is seen before a generation is retired.

            Exit codes: 0 the ledger (and, with --verify, it matched), 1 --verify found and corrected \
            differences, 67 unknown tenant, 78 configuration.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Flag(help: "Scan every source now, correct the counts and report the differences.")
    var verify = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    struct Row: Encodable {
        let source: String
        let generation: Int
        let items: Int
        let verifiedAt: String?
        /// With --verify: what the ledger said before the scan.
        let recorded: Int?
    }

    struct Report: Encodable {
        let tenant: String
        let verified: Bool
        let rows: [Row]
        let differences: Int
    }

    func run() async throws {
        let report = try await options.storeOptions.withStore(create: false) { store in try await ledger(store) }
        if output.json {
            try printJSON(report)
        } else {
            if report.rows.isEmpty { print("\(tenant): no ledger yet (run cmkctl ledger --tenant \(tenant) --verify)".escapingControlCharacters) }
            print(textTable(["SOURCE", "GENERATION", "ITEMS", verify ? "RECORDED" : "VERIFIED"], report.rows.map { row in
                [row.source, row.generation == LedgerEntry.unreadable ? "unreadable" : String(row.generation), String(row.items),
                 verify ? row.recorded.map(String.init) ?? "-" : row.verifiedAt ?? "-"]
            }))
            if verify { print(report.differences == 0 ? "the ledger matched the scan" : "\(report.differences) difference(s) corrected") }
        }
        if report.differences > 0 { throw ExitCode(1) }
    }

    private func ledger<Store: StoreBackend>(_ store: Store) async throws -> Report {
        let runtime = try options.runtime(store)
        let repository = runtime.repository
        guard try await repository.tenant(tenant) != nil else {
            throw TenantError(.tenantUnknown, "tenant \(tenant) is not registered")
        }
        let recorded = try await repository.read { try await repository.ledger(tenant: tenant, in: $0) }
        guard verify else {
            return Report(tenant: tenant, verified: false, rows: recorded.map {
                Row(source: $0.source, generation: $0.generation, items: $0.items, verifiedAt: $0.verifiedAt.map(AuditLog.timestamp), recorded: nil)
            }, differences: 0)
        }
        let scanned = try await LedgerVerification.scan(tenant: tenant, runtime: runtime)
        var rows: [Row] = []
        var differences = 0
        let at = Date()
        for (source, counts) in scanned {
            let before = recorded.filter { $0.source == source }
            let generations = Set(counts.keys).union(before.map(\.generation)).sorted()
            for generation in generations {
                let items = counts[generation] ?? 0
                let was = before.first { $0.generation == generation }?.items
                if (was ?? 0) != items { differences += 1 }
                if items > 0 || was != nil {
                    rows.append(Row(source: source, generation: generation, items: items, verifiedAt: AuditLog.timestamp(at), recorded: was))
                }
            }
        }
        try await LedgerVerification.save(scanned, tenant: tenant, at: at, repository: repository)
        return Report(tenant: tenant, verified: true, rows: rows, differences: differences)
    }
}

/// The full header scan behind `ledger --verify` and the retirement gate.
enum LedgerVerification {
    /// Items by source and generation, every configured source, in configuration order.
    static func scan<Store: StoreBackend>(tenant: String, runtime: TenantRuntime<Store>) async throws -> [(String, [Int: Int])] {
        let generations = try await runtime.repository.generations(of: tenant).filter { $0.retiredAt == nil }
        var results: [(String, [Int: Int])] = []
        try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            let scanner = LedgerScanner(kms: kms)
            let reader = try await scanner.reader(for: generations)
            for configuration in runtime.configuration.dataSources {
                let source = try await DataSourceOpener.open(configuration)
                do {
                    results.append((configuration.name, try await scanner.count(tenant: tenant, source: source, reader: reader)))
                } catch {
                    await source.close()
                    throw error
                }
                await source.close()
            }
        }
        return results
    }

    /// Replaces the stored counts with a scan's, each marked verified now.
    static func save(_ scanned: [(String, [Int: Int])], tenant: String, at: Date, repository: some TenantRepository) async throws {
        try await repository.write { transaction in
            for (source, counts) in scanned {
                let entries = counts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map {
                    LedgerEntry(tenant: tenant, source: source, generation: $0.key, items: $0.value, updatedAt: at, verifiedAt: at)
                }
                try await repository.replaceLedger(tenant: tenant, source: source, entries: entries, in: transaction)
            }
        }
    }
}
