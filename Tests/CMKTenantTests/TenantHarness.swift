import AsyncHTTPClient
import CMKKMS
import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation

/// A store, an operator configuration and the enrollment workflow in a fresh directory: what the
/// CLI sets up, driven from the tests through the library, on either backend (SQLite by default).
struct TenantHarness {
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    let directory: String
    let fresh: FreshStore
    let configuration: OperatorConfiguration
    let kms: TenantKMS
    let service: AnyEnrollmentService
    let revocationDefinition: StateMachineDefinition
    let reencryptionDefinition: StateMachineDefinition
    /// Runs after every re-encryption page the harness's workers move (when the configured KMS rate
    /// makes the page wait): where a test changes the world mid-sweep.
    let pageHook = PageHook()

    init(_ backend: TestBackend = .sqlite, configuration: OperatorConfiguration? = nil,
         aws: (@Sendable () throws -> any KMSClient)? = nil) async throws {
        directory = NSTemporaryDirectory() + "cmktenant-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = configuration ?? OperatorConfiguration()
        configuration.localKMSPath = directory + "/local-kms.json"
        self.configuration = configuration
        fresh = try await backend.openFresh(directory: directory, packageRoot: Self.packageRoot)
        let localPath = configuration.localKMSPath
        kms = TenantKMS(local: { try LocalKMS(path: localPath) },
                        aws: aws ?? { throw KMSError(.unreachable, "no AWS KMS in this test") })
        let definition = try EnrollmentWorkflow.loadDefinition(directory: URL(fileURLWithPath: Self.packageRoot + "/Workflows"))
        service = AnyEnrollmentService(fresh.store, definition: definition)
        revocationDefinition = try RevocationWorkflow.loadDefinition(directory: URL(fileURLWithPath: Self.packageRoot + "/Workflows"))
        reencryptionDefinition = try ReencryptionWorkflow.loadDefinition(directory: URL(fileURLWithPath: Self.packageRoot + "/Workflows"))
    }

    /// Opens a configured data source the way `cmkctl` does.
    static func openSource(_ configuration: DataSourceConfiguration) async throws -> any DataSource {
        switch configuration.kind {
        case .sqlite: try SQLiteDataSource(configuration: configuration)
        case .postgres: try await PostgresDataSource.open(configuration)
        case .directory: try DirectoryDataSource(configuration: configuration)
        }
    }

    var backend: TestBackend { fresh.backend }
    var journal: any WorkflowJournal { fresh.store.journal }
    var store: any TenantRepository { fresh.store.repository }
    var overview: AnyTenantOverview { AnyTenantOverview(fresh.store) }

    var localKMS: LocalKMS { get throws { try LocalKMS(path: configuration.localKMSPath, createIfMissing: true) } }

    func worker(owner: String = "test-worker", clock: any WorkflowClock = SystemWorkflowClock()) throws -> any IdleRunner {
        try Self.worker(fresh.store, configuration: configuration, kms: kms,
                        definitions: [service.definition, revocationDefinition, reencryptionDefinition], owner: owner, pageHook: pageHook,
                        clock: clock)
    }

    private static func worker<Store: StoreBackend>(
        _ store: Store, configuration: OperatorConfiguration, kms: TenantKMS, definitions: [StateMachineDefinition], owner: String,
        pageHook: PageHook, clock: any WorkflowClock
    ) throws -> any IdleRunner {
        var handlers = HandlerRegistry<Store.Journal.Transaction>()
        let reencryption = ReencryptionService(journal: store.journal, repository: store.repository,
                                               definition: definitions.first { $0.name == ReencryptionWorkflow.name }!,
                                               settings: configuration.reencryption)
        EnrollmentHandlers(repository: store.repository, configuration: configuration, kms: kms, reencryption: reencryption)
            .register(into: &handlers)
        RevocationHandlers(repository: store.repository, configuration: configuration, kms: kms).register(into: &handlers)
        ReencryptionHandlers(repository: store.repository, configuration: configuration, kms: kms,
                             crypto: try TenantCrypto(repository: store.repository, operatorConfiguration: configuration, kms: kms),
                             openSource: { try await openSource($0) }, pace: { _ in try await pageHook.run() }).register(into: &handlers)
        return WorkflowWorker(journal: store.journal, definitions: definitions, handlers: handlers, clock: clock, owner: owner)
    }

    /// Starts a revocation check of `tenant` (a re-probe window of `reprobeSeconds`).
    @discardableResult
    func checkRevocation(_ tenant: String, _ trigger: RevocationTrigger, reprobeSeconds: Double = 0) async throws -> String {
        try await Self.checkRevocation(fresh.store, definition: revocationDefinition, tenant: tenant, trigger: trigger,
                                       reprobeSeconds: reprobeSeconds)
    }

    private static func checkRevocation<Store: StoreBackend>(
        _ store: Store, definition: StateMachineDefinition, tenant: String, trigger: RevocationTrigger, reprobeSeconds: Double
    ) async throws -> String {
        try await RevocationService(journal: store.journal, repository: store.repository, definition: definition,
                                    reprobeSeconds: reprobeSeconds).check(tenant: tenant, trigger: trigger).execution
    }

    /// Runs every due step, then returns the tenant's status.
    @discardableResult
    func drive(_ tenant: String) async throws -> TenantStatus {
        try await worker().runUntilIdle()
        return try await status(tenant)
    }

    func status(_ tenant: String) async throws -> TenantStatus {
        guard let status = try await overview.status(tenant: tenant).first else { throw TenantError(.unknownTenant, tenant) }
        return status
    }

    func request(ticket: String, tenant: String, keys: [String], tag: String) throws -> EnrollmentRequest {
        try EnrollmentRequest(ticket: ticket, tenant: tenant, keys: keys, tag: tag, operatorName: "tester", configuration: configuration)
    }

    /// A new enabled key in the local KMS; its key ARN.
    func localKey(_ name: String) async throws -> String {
        try await localKMS.createKey(description: name, policy: nil, alias: name).arn
    }

    /// Runs SQL around the product (an attacker with the database's credentials).
    func rawSQL(_ sql: String) async throws {
        try await fresh.rawSQL(sql)
    }

    func remove() {
        let store = fresh.store
        Task { await store.close() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A worker whatever its journal type: what the tests drive.
protocol IdleRunner: Sendable {
    @discardableResult func runUntilIdle() async throws -> Bool
}

extension WorkflowWorker: IdleRunner {}

/// `EnrollmentService` over whichever backend the harness opened.
struct AnyEnrollmentService: Sendable {
    let definition: StateMachineDefinition
    private let start: @Sendable (EnrollmentRequest) async throws -> Started

    init<Store: StoreBackend>(_ store: Store, definition: StateMachineDefinition) {
        let service = EnrollmentService(journal: store.journal, repository: store.repository, definition: definition)
        self.definition = definition
        start = { request in
            let started = try await service.enroll(request)
            return Started(execution: started.execution, created: started.created)
        }
    }

    struct Started: Sendable {
        let execution: String
        let created: Bool
    }

    @discardableResult
    func enroll(_ request: EnrollmentRequest) async throws -> Started {
        try await start(request)
    }
}

/// `TenantOverview` over whichever backend the harness opened.
struct AnyTenantOverview: Sendable {
    private let statusOf: @Sendable (String?) async throws -> [TenantStatus]
    private let historyOf: @Sendable (String) async throws -> [TenantTimelineEntry]

    init<Store: StoreBackend>(_ store: Store) {
        let overview = TenantOverview(journal: store.journal, repository: store.repository)
        statusOf = { try await overview.status(tenant: $0) }
        historyOf = { try await overview.history(tenant: $0) }
    }

    func status(tenant: String? = nil) async throws -> [TenantStatus] { try await statusOf(tenant) }
    func history(tenant: String) async throws -> [TenantTimelineEntry] { try await historyOf(tenant) }
}

/// moto's KMS and IAM on loopback, with signatures checked against a real IAM user.
enum MotoSupport {
    static var executable: String { MotoServer.locateExecutable(packageRoot: TenantHarness.packageRoot) }

    /// Runs `body` with moto (IAM checks on after the user is made), an HTTP client and the service user's
    /// ARN and credentials.
    static func withMoto<T>(_ body: (MotoServer, HTTPClient, String, AWSCredentials) async throws -> T) async throws -> T {
        // Three unauthenticated IAM actions create the service user; everything after must be signed.
        let server = try await MotoServer.start(executable: executable, initialNoAuthActionCount: 3,
                                                logPath: NSTemporaryDirectory() + "cmktenant-moto-\(UUID().uuidString).log")
        let http = AWSKMSClient.makeHTTPClient(connectTimeout: .seconds(1))
        do {
            let iam = IAMQueryClient(http: http, endpoint: server.url,
                                     credentials: AWSCredentials(accessKeyID: "AKIDBOOTSTRAP", secretAccessKey: "bootstrap"))
            let user = try await iam.createPrincipal("cmkctl-service", policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#)
            let result = try await body(server, http, user.arn, user.credentials)
            try await http.shutdown()
            server.stop()
            return result
        } catch {
            try? await http.shutdown()
            server.stop()
            throw error
        }
    }
}

/// A test's action after each re-encryption page, with the number of pages so far.
final class PageHook: @unchecked Sendable {
    // The lock guards both fields; pages run one at a time, but the test sets the action from its own task.
    private let lock = NSLock()
    private var pages = 0
    private var action: (@Sendable (Int) async throws -> Void)?

    func set(_ action: @escaping @Sendable (Int) async throws -> Void) {
        lock.withLock { self.action = action }
    }

    func run() async throws {
        let (page, action) = lock.withLock { () -> (Int, (@Sendable (Int) async throws -> Void)?) in
            pages += 1
            return (pages, self.action)
        }
        try await action?(page)
    }
}
