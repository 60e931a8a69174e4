import ArgumentParser
import CMKTenant
import Foundation

/// `cmkctl enroll`: starts (or finds) a tenant's enrollment for a ticket and drives it as far as it goes.
struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll a tenant's KMS keys for a support ticket.",
        discussion: """
            Validates the request, journals it, then runs the enrollment workflow (Workflows/enroll.asl.json) \
            until it finishes or waits: register, assign the encryption-context identifier, verify every key \
            policy, probe every key with the tenant's context, record the key generation, active. \
            Running the same command again reports the same enrollment (and drives it on); a different ticket \
            for a tenant already enrolling or enrolled is refused.

            Exit codes: 0 active (or still running: see the state), 2 waiting for the customer, 3 failed, \
            4 conflict, 64 invalid input, 67 tenant not in the operator's list, 74 store failure, 78 configuration.
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

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        try await runTenantCommand {
            // Everything is checked before the store is touched: invalid input journals nothing.
            let configuration = try options.configuration()
            let request = try EnrollmentRequest(ticket: ticket, tenant: tenant, keys: keys, tag: tag, operatorName: operatorName,
                                                configuration: configuration)
            let runtime = try options.open(create: true)
            let service = try runtime.service()
            let started = try service.enroll(request)
            if !detach {
                try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
                    let worker = try runtime.worker(kms: kms, owner: "enroll-\(ProcessInfo.processInfo.processIdentifier)")
                    try await worker.runUntilIdle()
                }
            }
            guard let status = try runtime.overview.status(tenant: tenant).first else {
                throw TenantError(.storeFailure, "the enrollment of \(tenant) vanished from the store")
            }
            if json {
                try printJSON(EnrollResult(created: started.created, status: status))
            } else {
                print(started.created ? "enrollment started: \(started.execution)" : "enrollment already exists: \(started.execution)")
                print(StatusTable.describe(status))
                if status.state == "awaiting-customer" {
                    print("when the customer has fixed it: cmkctl signal \(status.execution) --payload '{\"fixed\":true}', then cmkctl worker --until-idle (or wait for the re-check)")
                }
            }
            switch status.state {
            case "awaiting-customer": throw ExitCode(TenantExit.awaitingCustomer.rawValue)
            case "enrollment-failed": throw ExitCode(TenantExit.failed.rawValue)
            default: break
            }
        }
    }
}

struct EnrollResult: Encodable {
    let created: Bool
    let status: TenantOverview.TenantStatus
}
