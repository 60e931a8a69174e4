import AsyncHTTPClient
import CMKEnvelope
import CMKKMS
import CMKTesting
import Foundation

/// Paths and shared helpers for the KMS tests.
enum TestSupport {
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var python: String {
        if let python = ProcessInfo.processInfo.environment["CMK_PEER_PYTHON"], !python.isEmpty { return python }
        return packageRoot + "/.venv/bin/python"
    }

    static var motoExecutable: String { MotoServer.locateExecutable(packageRoot: packageRoot) }

    static func fixture(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/fixtures/" + relative)))
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "cmkkms-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static let anyCredentials = AWSCredentials(accessKeyID: "AKIDTESTING", secretAccessKey: "testing-secret")

    static func client(_ http: HTTPClient, credentials: AWSCredentials = anyCredentials, endpoints: [String: String],
                       timeout: Duration = .seconds(5), retry: RetrySchedule = .none) -> AWSKMSClient {
        AWSKMSClient(httpClient: http, credentials: credentials,
                     configuration: .init(defaultRegion: "us-east-1", endpoints: endpoints, requestTimeout: timeout, retry: retry))
    }

    static func context(_ pairs: (String, String)...) -> EncryptionContext {
        try! EncryptionContext(pairs)
    }

    /// Runs `body` with a fresh HTTP client and shuts it down afterwards.
    static func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        let http = AWSKMSClient.makeHTTPClient(connectTimeout: .seconds(1))
        do {
            let result = try await body(http)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Starts `count` moto servers in parallel; if one fails, the others are stopped before throwing.
    static func startMotoServers(_ count: Int) async throws -> [MotoServer] {
        let executable = motoExecutable
        let outcomes = await withTaskGroup(of: Result<MotoServer, any Error>.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do { return .success(try await MotoServer.start(executable: executable)) } catch { return .failure(error) }
                }
            }
            var all: [Result<MotoServer, any Error>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let started = outcomes.compactMap { try? $0.get() }
        if let failure = outcomes.first(where: { (try? $0.get()) == nil }), case .failure(let error) = failure {
            started.forEach { $0.stop() }
            throw error
        }
        return started
    }

    /// Runs `body` with a moto server that is stopped (by pid) afterwards, whatever happens.
    static func withMoto<T>(initialNoAuthActionCount: Int? = nil, _ body: (MotoServer) async throws -> T) async throws -> T {
        let server = try await MotoServer.start(executable: motoExecutable, initialNoAuthActionCount: initialNoAuthActionCount,
                                                logPath: NSTemporaryDirectory() + "cmkkms-moto-\(UUID().uuidString).log")
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }
}
