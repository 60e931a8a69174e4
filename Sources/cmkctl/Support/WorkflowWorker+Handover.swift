import CMKTenant
import CMKWorkflow
import Foundation

extension WorkflowWorker {
    /// Drives `execution` until it settles (finished, parked, or sleeping until a retry), waiting while
    /// another live process runs it: any worker on the store may have claimed it first (a colleague's
    /// `enroll` working through what is due, or `serve`), and `enroll` and `rotate` promise to return with
    /// the tenant active, waiting for the customer, or failed, not half way. Interrupting the wait leaves
    /// the work to its holder.
    func follow(_ execution: String, onLeaseWait: (ExecutionLease, Double) -> Void = { _, _ in }) async throws {
        var announced = false
        while true {
            guard case .heldElsewhere(_, let lease) = try await drive(execution, onLeaseWait: onLeaseWait) else { return }
            if !announced {
                writeErrorLine("cmkctl: \(execution) is being run by \(lease.owner); waiting for it to finish (interrupting leaves it to them)")
                announced = true
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}

extension WorkflowWorker {
    /// `enroll`'s and `rotate`'s run: follows the enrollment execution, then every re-encryption of the tenant
    /// its hand-over started, so the command returns with the tenant where it ends up, not half way.
    func followHandOver(_ execution: String, tenant: String, onLeaseWait: (ExecutionLease, Double) -> Void) async throws {
        try await follow(execution, onLeaseWait: onLeaseWait)
        for reencryption in try await runningReencryptions(of: tenant, in: journal) {
            try await follow(reencryption)
        }
    }
}

/// The re-encryptions of `tenant` still running in the journal (normally the one a hand-over started). Read
/// from the executions, not from the re-encryption records: a record exists only once some worker ran the
/// execution's first step, and another process may have claimed it and not got that far yet.
func runningReencryptions(of tenant: String, in journal: some WorkflowJournal) async throws -> [String] {
    try await journal.executions(status: .running)
        .filter { $0.workflow == ReencryptionWorkflow.name && $0.input["tenant"]?.stringValue == tenant }
        .map(\.name)
}
