import ArgumentParser
import CMKKMS
import CMKTenant
import CMKWorkflow
import Foundation

/// The options every tenant command shares: the store, the operator configuration, the definitions.
struct TenantOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Operator configuration (JSON: servicePrincipal, contextKey, providerKey, vpcEndpointIds, tenants, kmsEndpoints, localKms, recheckInitialSeconds, recheckMaxSeconds, notifications, schedules, dataSources, backupDirectory). Missing file: built-in defaults for the embedded setup.")
    var config: String = OperatorConfiguration.defaultPath

    @Option(help: "Directory of workflow definitions (*.asl.json) to use instead of the ones built into cmkctl.")
    var workflows: String?

    @Option(help: "Seconds a worker's claim on an execution lasts without renewal (1 to 86400); a killed worker's executions pass to another after this.")
    var leaseSeconds: Double = 10

    func validate() throws {
        try OptionLimits.leaseSeconds.check(leaseSeconds)
    }

    func configuration() throws -> OperatorConfiguration {
        try OperatorConfiguration.load(path: config)
    }

    /// The runtime of an opened store (`storeOptions.withStore`): its configuration, definitions and lease.
    func runtime<Store: StoreBackend>(_ store: Store) throws -> TenantRuntime<Store> {
        TenantRuntime(store: store, configuration: try configuration(), workflows: WorkflowDefinitions(directory: workflows),
                      leaseSeconds: leaseSeconds)
    }
}

/// An opened store with its configuration: what enroll, status, history and the worker work on.
struct TenantRuntime<Store: StoreBackend> {
    let store: Store
    let configuration: OperatorConfiguration
    let workflows: WorkflowDefinitions
    let leaseSeconds: Double

    var journal: Store.Journal { store.journal }
    var repository: Store.Repository { store.repository }

    /// What enroll prints after driving the enrollment: the store and journal only.
    var overview: TenantOverview<Store.Repository> { TenantOverview(journal: journal, repository: repository) }

    func service() throws -> EnrollmentService<Store.Repository> {
        let definition = try workflows.load(named: EnrollmentWorkflow.name, handlerNames: EnrollmentWorkflow.handlerNames)
        return EnrollmentService(journal: journal, repository: repository, definition: definition)
    }

    func revocationService() throws -> RevocationService<Store.Repository> {
        let definition = try workflows.load(named: RevocationWorkflow.name, handlerNames: RevocationWorkflow.handlerNames)
        return RevocationService(journal: journal, repository: repository, definition: definition)
    }

    func reencryptionService() throws -> ReencryptionService<Store.Repository> {
        let definition = try workflows.load(named: ReencryptionWorkflow.name, handlerNames: ReencryptionWorkflow.handlerNames)
        return ReencryptionService(journal: journal, repository: repository, definition: definition, settings: configuration.reencryption)
    }

    /// A worker over the product's workflows and handlers (built in, or definitions from `--workflows`).
    func worker(kms: TenantKMS, owner: String) throws -> WorkflowWorker<Store.Journal> {
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        let notifier = OperatorNotifier(settings: configuration.notifications, transport: NotificationTransport.http)
        EnrollmentHandlers(repository: repository, configuration: configuration, kms: kms, reencryption: try reencryptionService(),
                           notifier: notifier).register(into: &handlers)
        RevocationHandlers(repository: repository, configuration: configuration, kms: kms, notifier: notifier).register(into: &handlers)
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms)
        ReencryptionHandlers(repository: repository, configuration: configuration, kms: kms, crypto: crypto,
                             openSource: { try await DataSourceOpener.open($0) }, notifier: notifier).register(into: &handlers)
        let definitions = try workflows.loadAll(handlerNames: handlers.names)
        return WorkflowWorker(journal: journal, definitions: definitions, handlers: handlers, owner: owner, leaseSeconds: leaseSeconds)
    }
}

/// Checks a `--tenant` value at parse time (exit 64) against the grammar `enroll` accepts, so `.`,
/// `..`, slashes, control characters and overlong ids are refused before any store is opened.
func checkTenantOption(_ tenant: String?) throws {
    guard let tenant else { return }
    do {
        try EnrollmentRequest.checkTenantID(tenant)
    } catch let error as TenantError {
        throw ValidationError("--tenant: \(error.message)")
    }
}

/// `$USER`, for the audit trail's operator when `--operator` is not given.
func defaultOperatorName() -> String {
    ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
}

/// Prints a value as sorted, indented JSON on stdout.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    // Times as ISO 8601 (the catalogue's and re-encryption's dates), like the text output, not seconds since 2001.
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
