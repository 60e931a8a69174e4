import ArgumentParser
import CMKSQLite
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl workflow-worker`: a worker process over a journal; hidden, used by the crash and multi-worker tests.
struct WorkflowWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow-worker", abstract: "Run workflow executions from the journal until killed.",
        shouldDisplay: false)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Directory of *.asl.json definitions to use instead of the built-in ones.")
    var workflows: String?

    @Option(help: "Worker identity for leases; a restarted worker with the same identity resumes its own leases at once.")
    var owner: String = "worker-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"

    @Option(help: "Lease length in seconds (1 to 86400).")
    var leaseSeconds: Double = 10

    @Option(help: "Operator configuration file (JSON).")
    var config: String = OperatorConfiguration.defaultPath

    @Option(help: "File to which at-least-once example effects append their idempotency keys.")
    var effectsLog: String?

    func validate() throws {
        try OptionLimits.leaseSeconds.check(leaseSeconds)
    }

    func run() async throws {
        let journal = try SQLiteJournal(path: storeOptions.location)
        let configuration = try OperatorConfiguration.load(path: config)
        let store = try SQLiteTenantRepository(journal: journal)
        try await TenantKMS.withClients(configuration: configuration) { kms in
            var handlers = BuiltinHandlers.registry(effectsLog: effectsLog, journal: journal)
            EnrollmentHandlers(repository: store, configuration: configuration, kms: kms).register(into: &handlers)
            let definitions = try WorkflowDefinitions(directory: workflows).loadAll(handlerNames: handlers.names)
            let worker = WorkflowWorker(
                journal: journal, definitions: definitions, handlers: handlers, owner: owner, leaseSeconds: leaseSeconds,
                idleCheckSeconds: 0.2)
            try await worker.run()
        }
    }
}
