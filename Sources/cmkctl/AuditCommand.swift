import ArgumentParser
import CMKEnvelope
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl audit verify|export`: the hash-chained audit trail.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify or export the hash-chained audit trail.",
        subcommands: [AuditVerifyCommand.self, AuditExportCommand.self])
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every link of the audit chain; exit 5 naming the first entry that was edited, inserted or deleted.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The head hash recorded earlier (from a previous verify); fails if the log no longer contains it as its head or beyond.")
    var expectHead: String?

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let (result, entries) = try await storeOptions.withStore(create: false) { store in
            try await Self.verify(store.repository, collectEntries: expectHead != nil)
        }
        var problem = result.problem
        if result.isIntact, let expectHead, !entries.contains(where: { $0.hash == expectHead }) {
            problem = "the expected head \(expectHead.prefix(16))… is not in the log: entries were removed or rewritten"
        }
        if output.json {
            try printJSON(AuditVerification(entries: result.entries, headHash: result.headHash,
                                            brokenAt: result.brokenAt, problem: problem))
        } else if problem == nil {
            print("audit chain intact: \(result.entries) entries, head \(result.headHash ?? "(empty)")")
        }
        if let problem {
            throw TenantError(.auditChainBroken, result.brokenAt.map { "audit entry \($0): \(problem)" } ?? problem)
        }
    }

    private static func verify(_ repository: some TenantRepository, collectEntries: Bool) async throws
        -> (AuditVerification, [AuditEntry])
    {
        let result = try await repository.verifyAudit()
        return (result, collectEntries && result.isIntact ? try await repository.auditEntries(tenant: nil) : [])
    }
}

struct AuditExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a tenant's audit entries as JSON lines, for the tenant's SIEM.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Tenant id (omit with --all for every entry).")
    var tenant: String?

    @Flag(help: "Export every entry, of every tenant.")
    var all = false

    @Option(help: "Output file, created mode 0600 (default: stdout).")
    var output: String?

    func validate() throws {
        guard (tenant != nil) != all else { throw ValidationError("give --tenant ID or --all") }
        try checkTenantOption(tenant)
    }

    func run() async throws {
        let tenant = self.tenant
        let entries = try await storeOptions.withStore(create: false) { store in
            try await Self.entries(store.repository, tenant: tenant)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for entry in entries {
            text += String(decoding: try encoder.encode(entry), as: UTF8.self) + "\n"
        }
        if let output {
            // Audit entries name tenants, keys and tickets: the file is 0600 whatever the umask.
            do { try OwnerOnlyFiles.write(Data(text.utf8), to: output) } catch let error as WorkflowError {
                throw TenantError(.storeFailure, error.message)
            }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    private static func entries(_ repository: some TenantRepository, tenant: String?) async throws -> [AuditEntry] {
        try await repository.auditEntries(tenant: tenant)
    }
}
