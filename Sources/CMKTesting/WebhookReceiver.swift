import CMKPeers
import Foundation

/// The operator's platform in the tests: Tests/Peers/webhook_receiver.py, which checks every notice
/// with the Standard Webhooks reference library and logs it. Started by the test, stopped by it; it
/// fails the test when it cannot start.
public final class WebhookReceiver: Sendable {
    public let url: String
    public let secretFile: String
    private let logFile: String
    private let pid: pid_t

    /// One notice as the receiver saw it.
    public struct Received: Sendable {
        public let verified: Bool
        public let id: String?
        public let type: String?
        /// Whether the receiver answered it with a 503 (`failFirst`).
        public let failed: Bool
        /// The notice's JSON body as sent (re-serialized by the receiver).
        public let body: Data

        /// A top-level string field of the body, or one of its `data` object.
        public func field(_ name: String, inData: Bool = false) -> String? {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
            let container = inData ? object["data"] as? [String: Any] : object
            return container?[name] as? String
        }
    }

    /// Starts a receiver with a fresh secret in `directory`; the first `failFirst` requests get a 503.
    public init(directory: String, secret: String, failFirst: Int = 0) async throws {
        secretFile = directory + "/notification-secret"
        logFile = directory + "/notifications.log"
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
        let output = directory + "/receiver.out"
        let python = ProcessInfo.processInfo.environment["CMK_PEER_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
            ?? CLIRunner.packageRoot.path + "/.venv/bin/python"
        pid = try ChildProcess.spawn(python, arguments: [CLIRunner.packageRoot.path + "/Tests/Peers/webhook_receiver.py", secretFile, logFile,
                                                         "--fail-first", String(failFirst)],
                                     environment: ProcessInfo.processInfo.environment, outputPath: output)
        var port: String?
        for _ in 0..<400 where port == nil {
            if let text = try? String(contentsOfFile: output, encoding: .utf8), let line = text.split(separator: "\n").first,
               Int(line) != nil {
                port = String(line)
            } else {
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        guard let port else {
            ChildProcess.stop(pid)
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw PeerFailure("the webhook receiver did not start: \(text.suffix(400))")
        }
        url = "http://127.0.0.1:\(port)/cmkctl-notices"
    }

    /// Every request received so far, in order.
    public func received() -> [Received] {
        guard let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            let body = (try? JSONSerialization.data(withJSONObject: object["body"] ?? [:])) ?? Data()
            return Received(verified: object["verified"] as? Bool ?? false, id: object["id"] as? String, type: object["type"] as? String,
                            failed: object["failed"] as? Bool ?? false, body: body)
        }
    }

    public func stop() {
        ChildProcess.stop(pid)
    }

    public struct PeerFailure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
