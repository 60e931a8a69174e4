import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl rotate`: moves an active tenant to new keys: the enrollment's checks, a new generation, re-encryption.
struct RotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Rotate an active tenant to new KMS keys for a support ticket, and re-encrypt its items.",
        discussion: """
            Runs the enrollment workflow in rotation mode: every new key's policy is verified and every new key \
            is probed with the tenant's context (parking for the customer when something only they can fix \
            blocks it, exactly as enroll does; the tenant stays active on its current keys meanwhile), then the \
            next key generation is recorded: from that moment new application writes use it. The tenant is \
            re-encrypting until every item of every data source has moved (cmkctl reencrypt), then active. \
            Older generations stay readable until retired (cmkctl generations retire).

            Exit codes: 0 active on the new generation, 2 waiting for the customer, 4 another rotation is \
            running, 64 invalid input, 67 unknown tenant, 75 not finished (a worker or cmkctl serve continues it), \
            and the enroll command's other codes.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "Support ticket id (letters, digits, '-', '_', '.').")
    var ticket: String

    @Option(help: "Tenant id (an active tenant).")
    var tenant: String

    @Option(name: .customLong("key"), help: "New KMS key ARN, one per region (repeat for several regions).")
    var keys: [String] = []

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail, at most 256 bytes (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @Flag(help: "Only journal the request; a worker (cmkctl worker) or cmkctl serve runs it.")
    var detach = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
    }

    func run() async throws {
        let configuration = try options.configuration()
        try await options.storeOptions.withStore(create: false) { store in
            try await rotate(store, configuration: configuration)
        }
    }

    private func rotate<Store: StoreBackend>(_ store: Store, configuration: OperatorConfiguration) async throws {
        let runtime = try options.runtime(store)
        guard let record = try await runtime.repository.tenant(tenant) else {
            throw TenantError(.tenantUnknown, "tenant \(tenant) is not registered")
        }
        let request = try EnrollmentRequest(ticket: ticket, tenant: tenant, keys: keys, tag: record.tag, operatorName: operatorName,
                                            configuration: configuration)
        let started = try await runtime.service().rotate(request)
        if !detach {
            try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
                let worker = try runtime.worker(kms: kms, owner: "rotate-\(ProcessInfo.processInfo.processIdentifier)")
                try await worker.followHandOver(started.execution, tenant: tenant) { lease, seconds in
                    writeErrorLine("cmkctl: waiting \(String(format: "%.1f", seconds)) s for the lease of \(lease.owner) on \(started.execution)")
                }
            }
        }
        guard let status = try await runtime.overview.status(tenant: tenant).first else {
            throw TenantError(.storeFailure, "tenant \(tenant) vanished from the store")
        }
        let snapshot = try await runtime.journal.execution(named: started.execution)
        if output.json {
            try printJSON(RotateResult(execution: started.execution, created: started.created, rotation: snapshot?.status.rawValue ?? "?",
                                       status: status))
        } else {
            print(started.created ? "rotation started: \(started.execution)" : "rotation already exists: \(started.execution)")
            print(StatusTable.describe(status))
        }
        if detach { return }
        if snapshot?.status == .failed {
            throw CommandFailure(status: .enrollmentFailed, message: "the rotation failed: \(snapshot?.cause ?? "see cmkctl history --tenant \(tenant)")")
        }
        if snapshot?.status == .running, snapshot?.stateName == "AwaitCustomer" {
            throw CommandFailure(status: .awaitingCustomer,
                                 message: "the rotation waits for the customer; after the fix: cmkctl signal \(started.execution) --payload '{\"fixed\":true}'")
        }
        guard status.state == TenantState.active.rawValue, status.generation > record.generation else {
            throw CommandFailure(status: .stillRunning, message: "the rotation is not finished (\(status.state)); cmkctl worker or cmkctl serve continues it")
        }
    }
}

struct RotateResult: Encodable {
    let execution: String
    let created: Bool
    let rotation: String
    let status: TenantStatus
}
