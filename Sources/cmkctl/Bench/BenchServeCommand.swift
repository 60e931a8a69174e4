import ArgumentParser
import AsyncHTTPClient
import CMKKMS
import CMKServer
import CMKSQLite
import CMKTenant
import Foundation
import NIOCore
import ServiceLifecycle
import Synchronization

/// `cmkctl bench serve`: 1 KiB encrypt and decrypt requests per second through the sidecar on loopback,
/// against TenantCrypto called in-process in the same run.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Sidecar requests per second (1 KiB encrypt and decrypt over loopback HTTP) against the in-process rate.",
        discussion: """
        Sets up a throwaway SQLite store with one tenant on the local KMS in a temporary directory, starts \
        the sidecar on 127.0.0.1 (a port the system picks), and measures 1 KiB JSON encrypt and decrypt \
        requests per second from --connections concurrent connections; then the same operations through \
        TenantCrypto in-process with as many concurrent tasks, and prints each HTTP rate as a share of the \
        in-process one.
        """)

    @Option(name: .long, help: "Seconds to spend on each figure (0.1 to 600).")
    var seconds: Double = 3

    @Option(name: .long, help: "Concurrent connections (and in-process tasks), 1 to 256.")
    var connections: Int = 16

    @OptionGroup var output: OutputOptions

    static let token = "bench-serve-token-0123456789"

    func validate() throws {
        try OptionRange("--seconds", 0.1...600, "seconds").check(seconds)
        try OptionRange("--connections", 1...256, "connections").check(connections)
    }

    func run() async throws {
        let directory = NSTemporaryDirectory() + "cmkctl-bench-serve-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var operatorConfiguration = OperatorConfiguration()
        operatorConfiguration.localKMSPath = directory + "/local-kms.json"
        _ = try await LocalKMS(path: operatorConfiguration.localKMSPath, createIfMissing: true)
            .createKey(description: "bench provider", policy: nil, alias: "cmkctl-provider")
        let store = try SQLiteStore(path: directory + "/store.sqlite")
        let registration = try TenantRegistration(tenant: "bench", tag: "bench", operatorName: "bench", configuration: operatorConfiguration)
        _ = try await registration.add(to: store.repository, providerKey: operatorConfiguration.providerKey)
        let localPath = operatorConfiguration.localKMSPath
        let kms = TenantKMS(local: { try LocalKMS(path: localPath) }, aws: { throw KMSError(.unreachable, "no AWS KMS in bench serve") })
        let crypto = try TenantCrypto(repository: store.repository, operatorConfiguration: operatorConfiguration, kms: kms)

        let plaintext = [UInt8](repeating: 0x41, count: 1024)
        let sample = try await crypto.encrypt(tenant: "bench", plaintext: plaintext).ciphertext
        let inProcessEncrypt = try await Self.rate(seconds: seconds, workers: connections) {
            _ = try await crypto.encrypt(tenant: "bench", plaintext: plaintext)
        }
        let inProcessDecrypt = try await Self.rate(seconds: seconds, workers: connections) {
            _ = try await crypto.decrypt(tenant: "bench", ciphertext: sample)
        }

        let server = SidecarServer(crypto: crypto, configuration: SidecarConfiguration(
            listen: ListenAddress(host: "127.0.0.1", port: 0), tokens: try BearerTokens(tokens: [Self.token])), metrics: SidecarMetrics())
        let (bound, announce) = AsyncStream<Int>.makeStream()
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: server.services { _, address in announce.yield(address.port) }, logger: server.logger))
        var report = BenchReport(title: "cmkctl bench serve (1 KiB, \(connections) connections)")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = bound.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CommandFailure(status: .internalError, message: "the sidecar did not start") }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            do {
                let url = "http://127.0.0.1:\(port)/v1/tenants/bench"
                let encryptBody = ByteBuffer(string: #"{"plaintext": "\#(Data(plaintext).base64EncodedString())"}"#)
                let decryptBody = ByteBuffer(string: #"{"ciphertext": "\#(Data(sample).base64EncodedString())"}"#)
                let httpEncrypt = try await Self.rate(seconds: seconds, workers: connections) {
                    try await Self.post(client, url + "/encrypt", body: encryptBody)
                }
                let httpDecrypt = try await Self.rate(seconds: seconds, workers: connections) {
                    try await Self.post(client, url + "/decrypt", body: decryptBody)
                }
                report.add("inprocess_encrypt_1k_ops_s", inProcessEncrypt, unit: "ops/s")
                report.add("inprocess_decrypt_1k_ops_s", inProcessDecrypt, unit: "ops/s")
                report.add("http_encrypt_1k_ops_s", httpEncrypt, unit: "req/s", ratioTo: inProcessEncrypt, ratioName: "of in-process (target >= 30%)")
                report.add("http_decrypt_1k_ops_s", httpDecrypt, unit: "req/s", ratioTo: inProcessDecrypt, ratioName: "of in-process (target >= 30%)")
            } catch {
                try? await client.shutdown()
                await group.triggerGracefulShutdown()
                throw error
            }
            try await client.shutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await store.close()
        report.print(json: output.json)
    }

    static func post(_ client: HTTPClient, _ url: String, body: ByteBuffer) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw CommandFailure(status: .internalError, message: "the sidecar answered \(response.status.code)")
        }
    }

    /// Operations per second of `operation` run by `workers` concurrent loops for `seconds`.
    static func rate(seconds: Double, workers: Int, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        let total = try await withThrowingTaskGroup(of: Int.self) { tasks in
            for _ in 0..<workers {
                tasks.addTask {
                    var count = 0
                    while clock.now < deadline {
                        try await operation()
                        count += 1
                    }
                    return count
                }
            }
            return try await tasks.reduce(0, +)
        }
        return Double(total) / (clock.now - start).seconds
    }
}
