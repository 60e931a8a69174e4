import ArgumentParser
import CMKKMS
import CMKTenant
import CMKWorkflow
import Foundation

/// The options every tenant command shares: the store, the operator configuration, the definitions.
struct TenantOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Operator configuration (JSON: servicePrincipal, contextKey, providerKey, vpcEndpointIds, tenants, kmsEndpoints, localKms, recheckInitialSeconds, recheckMaxSeconds). Missing file: built-in defaults for the embedded setup.")
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

    /// A worker over the product's workflows and handlers (built in, or definitions from `--workflows`).
    func worker(kms: TenantKMS, owner: String) throws -> WorkflowWorker<Store.Journal> {
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        EnrollmentHandlers(repository: repository, configuration: configuration, kms: kms).register(into: &handlers)
        let definitions = try workflows.loadAll(handlerNames: handlers.names)
        return WorkflowWorker(journal: journal, definitions: definitions, handlers: handlers, owner: owner, leaseSeconds: leaseSeconds)
    }
}

/// Exit codes of the tenant commands, part of the CLI's contract.
enum TenantExit: Int32 {
    case ok = 0
    /// The enrollment waits for the customer (policy to fix, key to enable).
    case awaitingCustomer = 2
    /// The enrollment failed.
    case failed = 3
    /// Another ticket already enrolls the tenant, or a tag would change.
    case conflict = 4
    /// The audit chain does not verify.
    case auditBroken = 5
    /// The work is not finished: another live process holds it, or it sleeps until a retry a worker runs.
    case stillRunning = 75
    case usage = 64
    case unknownTenant = 67
    case storeFailure = 74
    case configuration = 78
}

extension TenantExit {
    init(_ code: TenantError.Code) {
        self = switch code {
        case .invalidInput, .malformedPolicy: .usage
        case .conflict, .illegalTransition: .conflict
        case .unknownTenant, .tenantUnknown: .unknownTenant
        // Tenant encrypt and decrypt report these themselves (69, 65); any other command never meets them.
        case .tenantSuspended, .decryptFailed: .failed
        case .storeFailure: .storeFailure
        case .auditChainBroken: .auditBroken
        case .configuration: .configuration
        }
    }
}

/// Runs a tenant command: every error becomes one line on stderr and its exit code.
func runTenantCommand(_ body: () async throws -> Void) async throws {
    func fail(_ status: TenantExit, _ message: String) -> ExitCode {
        writeErrorLine(message)
        return ExitCode(status.rawValue)
    }
    do {
        try await body()
    } catch let error as TenantError {
        throw fail(TenantExit(error.code), error.message)
    } catch let error as WorkflowError {
        let status: TenantExit = switch error.code {
        case .executionNotFound: .unknownTenant
        case .invalidDefinition, .workflowNotLoaded: .configuration
        default: .storeFailure
        }
        throw fail(status, error.message)
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
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
