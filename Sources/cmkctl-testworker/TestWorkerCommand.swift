import ArgumentParser
import CMKExampleHandlers
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl-testworker`: a worker process with the example workflow's handlers and the enrollment
/// handlers, which the crash and multi-worker tests start and kill. Test kit, never shipped: the
/// product's `cmkctl worker` runs only the product's handlers.
@main
struct TestWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cmkctl-testworker",
        abstract: "Run workflow executions from a store, with the test suite's example handlers, until killed.")

    @Option(help: ArgumentHelp("A SQLite file path (created when missing) or a postgres:// URL.", valueName: "path|url"))
    var store: String

    @Option(help: "Directory of *.asl.json definitions.")
    var workflows: String

    @Option(help: "Worker identity for leases; a restarted worker with the same identity resumes its own leases at once.")
    var owner: String = "testworker-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"

    @Option(help: "Lease length in seconds (1 to 86400).")
    var leaseSeconds: Double = 10

    @Option(help: "Operator configuration file (JSON), for the enrollment handlers.")
    var config: String = OperatorConfiguration.defaultPath

    @Option(help: "File to which notify-tenant appends the idempotency key of every attempt.")
    var effectsLog: String?

    func validate() throws {
        guard leaseSeconds.isFinite, (1...86_400).contains(leaseSeconds) else {
            throw ValidationError("--lease-seconds must be 1 to 86400 seconds")
        }
    }

    func run() async throws {
        let opened = try await ExampleStores.open(store)
        do {
            try await work(opened)
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
    }

    private func work<Store: ExampleStore>(_ store: Store) async throws {
        let configuration = try OperatorConfiguration.load(path: config)
        let tables = try await store.exampleTables()
        try await TenantKMS.withClients(configuration: configuration) { kms in
            var handlers = ExampleHandlers.registry(tables: tables, recordEffect: effectsLog.map(ExampleHandlers.appendingLines(to:)))
            EnrollmentHandlers(repository: store.repository, configuration: configuration, kms: kms).register(into: &handlers)
            let loader = DefinitionLoader(handlerNames: handlers.names)
            let definitions = try DefinitionLoader.definitionFiles(in: URL(fileURLWithPath: workflows)).map { try loader.load(file: $0) }
            // A short idle check: executions the tests start or signal are picked up quickly.
            let worker = WorkflowWorker(
                journal: store.journal, definitions: definitions, handlers: handlers, owner: owner,
                leaseSeconds: leaseSeconds, idleCheckSeconds: 0.2)
            try await worker.run()
        }
    }
}
