import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl offboard`: a tenant leaves for good, by a support ticket; never automatic.
struct OffboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offboard",
        abstract: "Offboard a tenant for a support ticket: its data is never encrypted or decrypted again.",
        discussion: """
            Moves the tenant to offboarded (TenantLifecycle: from registered, active, suspended or a failed \
            enrollment), with the ticket in the audit trail: encrypt and decrypt are refused everywhere (exit 77, \
            403 tenant-suspended from serve), every process drops its cached data keys (the change feed), and a \
            running re-encryption of the tenant is cancelled. A revocation never does this: offboarding is manual. \
            Keys, data and backups are left as they are; the customer's keys stay theirs.

            Exit codes: 0 offboarded (or already), 4 the tenant is enrolling or re-encrypting (finish or cancel that \
            first), 64 bad ticket, 67 unknown tenant.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Option(help: "Support ticket id (letters, digits, '-', '_', '.').")
    var ticket: String

    @Option(name: .customLong("operator"), help: "Who runs the command, for the audit trail (default: $USER).")
    var operatorName: String = defaultOperatorName()

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
        do {
            try EnrollmentRequest.checkIdentifier(ticket, what: "ticket", maxLength: 64)
        } catch let error as TenantError {
            throw ValidationError("--ticket: \(error.message)")
        }
    }

    struct Result: Encodable {
        let tenant: String
        let state: String
        let changed: Bool
        let cancelled: [String]
    }

    func run() async throws {
        let result = try await options.storeOptions.withStore(create: false) { store in try await offboard(store) }
        if output.json {
            try printJSON(result)
        } else {
            print(result.changed ? "\(tenant) offboarded (ticket \(ticket))" : "\(tenant) was offboarded already")
            for execution in result.cancelled { print("  cancelled \(execution)") }
        }
    }

    private func offboard<Store: StoreBackend>(_ store: Store) async throws -> Result {
        let repository = store.repository
        guard try await repository.tenant(tenant) != nil else { throw TenantError(.tenantUnknown, "tenant \(tenant) is not registered") }
        let cause = Cause(ticket: ticket, operatorName: operatorName)
        let tenant = tenant
        let transition = try await repository.write { transaction in
            try await repository.apply(.offboarded, tenant: tenant, waitingFor: nil, cause: cause, now: Date(), in: transaction)
        }
        var cancelled: [String] = []
        for snapshot in try await store.journal.executions(status: .running)
        where snapshot.workflow == ReencryptionWorkflow.name && snapshot.input["tenant"]?.stringValue == tenant {
            _ = try await store.journal.cancel(execution: snapshot.name, now: Date())
            cancelled.append(snapshot.name)
        }
        return Result(tenant: tenant, state: transition.to.rawValue, changed: transition.changed, cancelled: cancelled)
    }
}
