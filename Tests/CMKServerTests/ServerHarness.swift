import CMKEnvelope
import CMKKMS
import CMKServer
import CMKSQLite
import CMKTenant
import CMKTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus

/// A sidecar over a real SQLite store and the local KMS in a fresh directory, with tenants added the
/// way `cmkctl tenants add` adds them; requests go through HummingbirdTesting's router client.
struct ServerHarness {
    static let tokens = ["first-token-0123456789", "second-token-0123456789"]
    /// What a tenant on an AWS key gets from its KMS in these tests (no AWS here).
    static let awsARN = "arn:aws:kms:us-east-1:111122223333:alias/cmkctl-provider"

    let directory: String
    let store: SQLiteStore
    let configuration: OperatorConfiguration
    let server: SidecarServer<SQLiteTenantRepository>
    let registry: PrometheusCollectorRegistry
    let events: KMSEventIntake<SQLiteTenantRepository>
    static let webhookSecret = StandardWebhook.generateSecret()

    /// - Parameter awsFailure: what every AWS KMS client fails with (tenants on `awsARN`).
    init(maxBodyBytes: Int = SidecarConfiguration.defaultMaxBodyBytes, listen: ListenAddress = SidecarConfiguration.defaultListen,
         adminListen: ListenAddress? = nil, readinessChecks: [ReadinessCheck] = [], awsFailure: KMSError = KMSError(.unreachable, "no AWS KMS in this test")) async throws {
        directory = NSTemporaryDirectory() + "cmkserver-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = OperatorConfiguration()
        configuration.localKMSPath = directory + "/local-kms.json"
        self.configuration = configuration
        store = try SQLiteStore(path: directory + "/store.sqlite")
        _ = try await LocalKMS(path: configuration.localKMSPath, createIfMissing: true)
            .createKey(description: "provider", policy: nil, alias: "cmkctl-provider")
        let localPath = configuration.localKMSPath
        let kms = TenantKMS(local: { try LocalKMS(path: localPath) }, aws: { throw awsFailure })
        let crypto = try TenantCrypto(repository: store.repository, operatorConfiguration: configuration, kms: kms)
        registry = PrometheusCollectorRegistry()
        let sidecar = SidecarConfiguration(listen: listen, adminListen: adminListen, tokens: try BearerTokens(tokens: Self.tokens),
                                           maxBodyBytes: maxBodyBytes, readinessChecks: readinessChecks)
        let definition = try RevocationWorkflow.loadDefinition(directory: CLIRunner.packageRoot.appendingPathComponent("Workflows"))
        let revocations = RevocationService(journal: store.journal, repository: store.repository, definition: definition, reprobeSeconds: 0)
        events = KMSEventIntake(repository: store.repository, revocations: revocations, signatures: try StandardWebhook(secrets: [Self.webhookSecret]))
        server = SidecarServer(crypto: crypto, configuration: sidecar, metrics: SidecarMetrics(registry: registry), events: events)
    }

    /// Adds `tenant` on the provider's key (the local KMS's, or an AWS one that fails).
    @discardableResult
    func add(_ tenant: String, tag: String, onAWS: Bool = false) async throws -> TenantRecord {
        let registration = try TenantRegistration(tenant: tenant, tag: tag, operatorName: "tester", configuration: configuration)
        return try await registration.add(to: store.repository, providerKey: onAWS ? Self.awsARN : configuration.providerKey).record
    }

    /// Puts `tenant` in `state` through the repository, as the engine's handlers would.
    func set(_ tenant: String, state: TenantState) async throws {
        let repository = store.repository
        try await repository.write { transaction in
            guard var record = try await repository.tenant(tenant, in: transaction) else { throw TenantError(.tenantUnknown, tenant) }
            record.state = state
            try await repository.updateTenant(record, in: transaction)
        }
    }

    /// Runs `body` with a client of the main listener's router.
    func withClient(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await Application(router: server.mainRouter()).test(.router, body)
    }

    /// What `body` returns from a client of the main listener's router.
    func value<Value: Sendable>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await Application(router: server.mainRouter()).test(.router, body)
    }

    func withAdminClient(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await Application(router: server.adminRouter()).test(.router, body)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Requests and the answers the tests read.
extension TestClientProtocol {
    func post(_ uri: String, json: String, token: String? = ServerHarness.tokens[0], headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        headers[.contentType] = "application/json"
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func post(_ uri: String, bytes: [UInt8], context: String? = nil, token: String = ServerHarness.tokens[0]) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/octet-stream", .authorization: "Bearer \(token)"]
        if let context { headers[HTTPField.Name("Cmk-Encryption-Context")!] = context }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    func get(_ uri: String, token: String? = ServerHarness.tokens[0]) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension TestResponse {
    /// The body as a JSON object.
    var object: [String: Any] {
        get throws {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                throw ServerError(.invalidRequest, "not a JSON object")
            }
            return object
        }
    }

    var bytes: [UInt8] { Array(body.readableBytesView) }
    var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    /// The problem document's `code`, after checking the media type.
    var problemCode: String? {
        guard headers[.contentType] == Problem.mediaType else { return nil }
        return (try? object)?["code"] as? String
    }
}

func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
func unbase64(_ value: Any?) -> [UInt8]? { (value as? String).flatMap { Data(base64Encoded: $0) }.map(Array.init) }
