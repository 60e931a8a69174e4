import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl enroll`: starts (or finds) a tenant's enrollment for a ticket and drives it as far as it goes.
struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll a tenant's KMS keys for a support ticket.",
        discussion: """
            Validates the request, journals it, then runs the enrollment workflow (built in; see \
            cmkctl workflows export) \
            until it finishes or waits: register, assign the encryption-context identifier, verify every key \
            policy, probe every key with the tenant's context, record the key generation, then re-encrypt the \
            tenant's existing items in every configured data source to it (cmkctl reencrypt), active. \
            Running the same command again reports the same enrollment and drives it on; if a process that \
            ran it was killed, the command first waits for that process's lease to expire (at most its \
            --lease-seconds) and then finishes the work; if another live process is running it (a colleague's \
            enroll, serve), it waits for that process to finish it. A different ticket for a tenant already enrolling or \
            enrolled is refused.

            Exit codes: 0 active (with --detach: journaled), 2 waiting for the customer, 3 failed, 4 conflict, \
            64 invalid input, 67 tenant not in the operator's list, 74 store failure, 75 not finished (it waits \
            for a retry a worker will run), 78 configuration (also while a \
            KMS step is retried because cmkctl's own KMS setup is wrong: credentials, the local KMS file, an \
            endpoint; the tenant's state is left as it was).
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "Support ticket id (letters, digits, '-', '_', '.').")
    var ticket: String

    @Option(help: "Tenant id.")
    var tenant: String

    @Option(name: .customLong("key"), help: "KMS key ARN, one per region (repeat for several regions).")
    var keys: [String] = []

    @Option(help: "Human-readable tag for the encryption-context identifier: 1 to 12 ASCII letters and digits, immutable.")
    var tag: String

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail, at most 256 bytes (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @Flag(help: "Only journal the request; a worker (cmkctl worker) runs it.")
    var detach = false

    @OptionGroup var output: OutputOptions

    func run() async throws {
        // Everything is checked before the store is touched: invalid input journals nothing.
        let configuration = try options.configuration()
        let request = try EnrollmentRequest(ticket: ticket, tenant: tenant, keys: keys, tag: tag, operatorName: operatorName,
                                            configuration: configuration)
        try await options.storeOptions.withStore(create: true) { store in
            try await enroll(request, store: store)
        }
    }

    private func enroll<Store: StoreBackend>(_ request: EnrollmentRequest, store: Store) async throws {
        let runtime = try options.runtime(store)
        let service = try runtime.service()
        let started = try await service.enroll(request)
        if !detach {
            try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
                let worker = try runtime.worker(kms: kms, owner: "enroll-\(ProcessInfo.processInfo.processIdentifier)")
                // The hand-over starts the tenant's re-encryption: followed too, so the tenant ends active.
                try await worker.followHandOver(started.execution, tenant: tenant) { lease, seconds in
                    writeErrorLine(
                        "cmkctl: waiting \(String(format: "%.1f", seconds)) s for the lease of \(lease.owner) on "
                            + "\(started.execution) to expire (a process that was stopped, or one still working)")
                }
            }
        }
        guard let status = try await runtime.overview.status(tenant: tenant).first else {
            throw TenantError(.storeFailure, "the enrollment of \(tenant) vanished from the store")
        }
        if output.json {
            try printJSON(EnrollResult(created: started.created, status: status))
        } else {
            print(started.created ? "enrollment started: \(started.execution)" : "enrollment already exists: \(started.execution)")
            print(StatusTable.describe(status))
            if status.state == "awaiting-customer" {
                print("when the customer has fixed it: cmkctl signal \(status.execution) --payload '{\"fixed\":true}', then cmkctl worker --until-idle (or wait for the re-check)")
            }
        }
        if status.executionStatus == "running", let problem = try await Self.operatorsKMSProblem(runtime.journal, execution: status.execution) {
            writeErrorLine("the operator's KMS setup, not the customer's key: \(problem); the step is retried, "
                + "or fix it and run cmkctl worker --until-idle")
            throw ExitCode(CLIExit.configuration.rawValue)
        }
        switch status.state {
        case TenantState.active.rawValue: break
        case TenantState.awaitingCustomer.rawValue: throw ExitCode(CLIExit.awaitingCustomer.rawValue)
        case TenantState.enrollmentFailed.rawValue: throw ExitCode(CLIExit.enrollmentFailed.rawValue)
        default:
            // Journaled and left to a worker (--detach), or sleeping until a retry: not done, and the exit
            // code says so.
            if detach { break }
            writeErrorLine("cmkctl: \(status.execution) is not finished (\(status.state)); a worker continues it (cmkctl worker)")
            throw ExitCode(CLIExit.stillRunning.rawValue)
        }
    }
}

extension EnrollCommand {
    /// The cause of the execution's latest task failure when it is `KMS.Misconfigured` (a failure
    /// class decided in CMKKMS) and no task succeeded since: the enrollment waits for the operator.
    static func operatorsKMSProblem(_ journal: some WorkflowJournal, execution: String) async throws -> String? {
        let last = try await journal.history(of: execution).last { $0.kind == .taskFailed || $0.kind == .taskSucceeded }
        let misconfigured = EnrollmentWorkflow.ErrorName.kmsMisconfigured.rawValue
        guard let last, last.kind == .taskFailed, last.detail["error"]?.stringValue == misconfigured else { return nil }
        return last.detail["cause"]?.stringValue ?? misconfigured
    }
}

struct EnrollResult: Encodable {
    let created: Bool
    let status: TenantStatus
}
