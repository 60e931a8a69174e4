import AsyncHTTPClient
import CMKKMS
import CMKSQLite
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation

/// A store, an operator configuration and the enrollment workflow in a fresh directory: what the
/// CLI sets up, driven from the tests through the library.
struct TenantHarness {
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    let directory: String
    let journal: SQLiteJournal
    let store: SQLiteTenantRepository
    let configuration: OperatorConfiguration
    let kms: TenantKMS
    let service: EnrollmentService<SQLiteTenantRepository>

    init(configuration: OperatorConfiguration? = nil, aws: (@Sendable () throws -> any KMSClient)? = nil) throws {
        directory = NSTemporaryDirectory() + "cmktenant-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = configuration ?? OperatorConfiguration()
        configuration.localKMSPath = directory + "/local-kms.json"
        self.configuration = configuration
        journal = try SQLiteJournal(path: directory + "/store.sqlite")
        store = try SQLiteTenantRepository(journal: journal)
        let localPath = configuration.localKMSPath
        kms = TenantKMS(local: { try LocalKMS(path: localPath) },
                        aws: aws ?? { throw KMSError(.unreachable, "no AWS KMS in this test") })
        let definition = try EnrollmentWorkflow.loadDefinition(directory: URL(fileURLWithPath: Self.packageRoot + "/Workflows"))
        service = EnrollmentService(journal: journal, repository: store, definition: definition)
    }

    var overview: TenantOverview<SQLiteTenantRepository> { TenantOverview(journal: journal, repository: store) }

    var localKMS: LocalKMS { get throws { try LocalKMS(path: configuration.localKMSPath, createIfMissing: true) } }

    func worker(owner: String = "test-worker") throws -> WorkflowWorker<SQLiteJournal> {
        var handlers = HandlerRegistry<SQLiteTransaction>()
        EnrollmentHandlers(repository: store, configuration: configuration, kms: kms).register(into: &handlers)
        return WorkflowWorker(journal: journal, definitions: [service.definition], handlers: handlers, owner: owner)
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

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
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
