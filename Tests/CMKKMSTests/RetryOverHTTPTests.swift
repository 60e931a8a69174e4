import CMKKMS
import CMKTesting
import Foundation
import Testing

/// The AWS client's retry rules over real HTTP, against a scripted KMS-shaped server
/// (Tests/Peers/kms_flaky_server.py): throttling and 5xx are retried with backoff, nothing else is.
@Suite struct RetryOverHTTPTests {
    /// Starts the scripted server, runs `body` with its URL, and stops it by pid.
    static func withFlakyServer<T>(_ script: String, _ body: (String) async throws -> T) async throws -> T {
        let output = TestSupport.temporaryDirectory() + "/flaky.out"
        let pid = try ChildProcess.spawn(TestSupport.python, arguments: [TestSupport.packageRoot + "/Tests/Peers/kms_flaky_server.py", script],
                                         environment: ProcessInfo.processInfo.environment, outputPath: output)
        defer { ChildProcess.stop(pid) }
        var port: String?
        for _ in 0..<200 where port == nil {
            if let text = try? String(contentsOfFile: output, encoding: .utf8), let line = text.split(separator: "\n").first {
                port = String(line)
            } else {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        guard let port else { throw KMSError(.unreachable, "flaky server did not start") }
        return try await body("http://127.0.0.1:\(port)")
    }

    static let fastRetries = RetrySchedule(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5))
    static let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    @Test func throttlingAnd5xxAreRetried() async throws {
        try await Self.withFlakyServer("throttle,500") { url in
            try await TestSupport.withHTTPClient { http in
                let kms = TestSupport.client(http, endpoints: ["us-east-1": url], retry: Self.fastRetries)
                // The description carries the server's request count: the third attempt answered.
                let answered = try await kms.describeKey(keyID: Self.key)
                #expect(answered.description == "3")
            }
        }
    }

    @Test func retriesStopAtTheLimit() async throws {
        try await Self.withFlakyServer("throttle,503,throttle") { url in
            try await TestSupport.withHTTPClient { http in
                let kms = TestSupport.client(http, endpoints: ["us-east-1": url], retry: Self.fastRetries)
                let error = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: Self.key) }
                #expect(error?.code == .throttled)
                let answered = try await kms.describeKey(keyID: Self.key)
                #expect(answered.description == "4")
            }
        }
    }

    @Test(arguments: [("invalid", KMSError.Code.invalidRequest), ("deny", .denied)])
    func otherErrorsAreNotRetried(step: String, code: KMSError.Code) async throws {
        try await Self.withFlakyServer(step) { url in
            try await TestSupport.withHTTPClient { http in
                let kms = TestSupport.client(http, endpoints: ["us-east-1": url], retry: Self.fastRetries)
                let error = await #expect(throws: KMSError.self) { try await kms.describeKey(keyID: Self.key) }
                #expect(error?.code == code)
                let answered = try await kms.describeKey(keyID: Self.key)
                #expect(answered.description == "2")
            }
        }
    }
}
