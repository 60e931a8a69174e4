import AsyncHTTPClient
import CMKTesting
import Foundation
import NIOCore
import Testing

/// Revocation end to end through real processes sharing one SQLite store: two `cmkctl serve`s, the
/// local KMS, the operator's platform (the Python receiver checking signatures with the reference
/// library). The customer disables acme's key, a real-shaped CloudTrail event reaches one server,
/// its probe confirms, and both servers refuse acme (403); the key back and an EnableKey event
/// reinstate it. Forged requests before that suspend nothing.
@Suite(.serialized) struct ServeRevocationTests {
    static let token = "revocation-test-token-0123456789"

    struct Server {
        let pid: pid_t
        let url: String
    }

    static func start(_ scratch: Scratch, name: String, extra: [String] = []) async throws -> Server {
        let output = scratch.path("\(name).log")
        let pid = try ChildProcess.spawn(CLIRunner.binary, arguments: [
            "serve", "--listen", "127.0.0.1:0", "--token-file", scratch.path("tokens"), "--change-poll-ms", "100",
            "--store", scratch.path(".cmkctl/store.sqlite"), "--config", scratch.path(".cmkctl/operator.json"),
        ] + extra, environment: ProcessInfo.processInfo.environment, outputPath: output)
        for _ in 0..<600 {
            let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("cmkctl serve: main listening on http://") }),
               let port = line.split(separator: ":").last {
                return Server(pid: pid, url: "http://127.0.0.1:\(port)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        ChildProcess.stop(pid)
        throw CLIFailure("cmkctl serve did not start: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
    }

    struct CLIFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    func post(_ url: String, json: [UInt8], headers: [(String, String)]) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
        return (Int(response.status.code), object)
    }

    func decryptStatus(_ server: Server, _ ciphertext: String) async throws -> (Int, String?) {
        let (status, object) = try await post(server.url + "/v1/tenants/acme/decrypt", json: Array(#"{"ciphertext": "\#(ciphertext)"}"#.utf8),
                                              headers: [("Authorization", "Bearer \(Self.token)")])
        return (status, object["code"] as? String)
    }

    /// A fixture event re-aimed at acme's key in the local KMS.
    static func event(_ fixture: String, key: String, id: String) throws -> [UInt8] {
        let parts = key.split(separator: ":")
        let (region, account, keyID) = (String(parts[3]), String(parts[4]), String(parts[5].dropFirst("key/".count)))
        var text = try String(contentsOfFile: CLIRunner.packageRoot.path + "/fixtures/kms-events/" + fixture, encoding: .utf8)
        text = text.replacingOccurrences(of: "1234abcd-12ab-34cd-56ef-1234567890ab", with: keyID)
            .replacingOccurrences(of: "111122223333", with: account).replacingOccurrences(of: "us-east-1", with: region)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        object["id"] = id
        object["time"] = ISO8601DateFormatter().string(from: Date())
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    @Test func aConfirmedRevocationReachesBothServersAndTheKeyBackReinstates() async throws {
        let scratch = try Scratch()
        let receiver = try await WebhookReceiver(directory: scratch.url.path, secret: "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        defer { receiver.stop() }
        try FileManager.default.createDirectory(atPath: scratch.path(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"localKms": "\#(scratch.path(".cmkctl/local-kms.json"))", "notifications": {"url": "\#(receiver.url)", "secretFile": "\#(receiver.secretFile)"}}"#.utf8))
        _ = try scratch.write("tokens", Array("\(Self.token)\n".utf8))
        func cli(_ arguments: [String]) throws -> CLIRunner.Result {
            let result = try CLIRunner.run(arguments, in: scratch.url)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result
        }
        let created = try JSONSerialization.jsonObject(with: try cli(["kms", "create-key", "--json"]).stdout) as? [String: Any]
        let key = try #require(created?["arn"] as? String)
        _ = try cli(["enroll", "--ticket", "SUP-9", "--tenant", "acme", "--tag", "acmeprod", "--key", key])
        let issued = try JSONSerialization.jsonObject(with: try cli(["webhooks", "issue-key", "--tenant", "acme", "--json"]).stdout) as? [String: String]
        let apiKey = try #require(issued?["key"])

        let a = try await Self.start(scratch, name: "serve-a"), b = try await Self.start(scratch, name: "serve-b")
        defer { ChildProcess.stop(a.pid); ChildProcess.stop(b.pid) }
        let (encryptedStatus, encrypted) = try await post(b.url + "/v1/tenants/acme/encrypt", json: Array(#"{"plaintext": "c2VjcmV0"}"#.utf8),
                                                          headers: [("Authorization", "Bearer \(Self.token)")])
        #expect(encryptedStatus == 200)
        let ciphertext = try #require(encrypted["ciphertext"] as? String)
        #expect(try await decryptStatus(b, ciphertext).0 == 200)

        // Hints that are not evidence: forged or mistaken requests suspend nothing.
        let disable = try Self.event("cloudtrail-disable-key.json", key: key, id: "evt-disable")
        #expect(try await post(a.url + "/v1/events/kms", json: disable, headers: []).0 == 401)
        #expect(try await post(a.url + "/v1/events/kms", json: disable, headers: [("X-Cmk-Api-Key", apiKey + "x")]).0 == 401)
        #expect(try await post(a.url + "/v1/events/kms", json: Array("{\"id\":".utf8), headers: [("X-Cmk-Api-Key", apiKey)]).0 == 400)
        // A real event for the key while it still works: accepted, probed (and re-probed), nothing suspended.
        let early = try Self.event("cloudtrail-disable-key.json", key: key, id: "evt-early")
        #expect(try await post(a.url + "/v1/events/kms", json: early, headers: [("X-Cmk-Api-Key", apiKey)]).0 == 202)
        try await Task.sleep(for: .seconds(1))
        #expect(try await decryptStatus(b, ciphertext).0 == 200)

        // The customer disables the key; the event reaches A; B refuses acme within the bound.
        _ = try cli(["kms", "disable", key])
        let posted = ContinuousClock.now
        let (status, accepted) = try await post(a.url + "/v1/events/kms", json: disable, headers: [("X-Cmk-Api-Key", apiKey)])
        #expect(status == 202 && accepted["outcome"] as? String == "accepted")
        var refused: Duration?
        while refused == nil, ContinuousClock.now - posted < .seconds(30) {
            if try await decryptStatus(b, ciphertext) == (403, "tenant-suspended") { refused = ContinuousClock.now - posted }
            else { try await Task.sleep(for: .milliseconds(20)) }
        }
        let elapsed = try #require(refused, "serve B never refused acme")
        print("serve: KMS event at A → acme refused by B after \(elapsed)")
        #expect(try await decryptStatus(a, ciphertext) == (403, "tenant-suspended"))
        // The same event again: acknowledged, nothing more.
        let (_, repeated) = try await post(a.url + "/v1/events/kms", json: disable, headers: [("X-Cmk-Api-Key", apiKey)])
        #expect(repeated["outcome"] as? String == "repeated")

        // Both servers acknowledged the purge; status shows the bound.
        var bound: [String: Any]?
        for _ in 0..<100 where (bound?["processes"] as? Int ?? 0) < 2 {
            let statuses = try JSONSerialization.jsonObject(with: try cli(["status", "--tenant", "acme", "--json"]).stdout) as? [[String: Any]]
            bound = statuses?.first?["lastRevocation"] as? [String: Any]
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(bound?["processes"] as? Int == 2 && bound?["eventTime"] != nil && bound?["boundMilliseconds"] != nil)

        // The key back, an EnableKey event signed... by the tenant's API key: reinstated on both.
        _ = try cli(["kms", "enable", key])
        let enable = try Self.event("cloudtrail-enable-key.json", key: key, id: "evt-enable")
        #expect(try await post(a.url + "/v1/events/kms", json: enable, headers: [("X-Cmk-Api-Key", apiKey)]).0 == 202)
        var back = false
        for _ in 0..<600 where !back {
            back = try await decryptStatus(b, ciphertext).0 == 200
            if !back { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(back)
        // The enrollment's re-encryption told its completion first; then the revocation's two notices.
        let notices = receiver.received().filter { !$0.failed && $0.type != "tenant.reencryption.completed" }
        #expect(notices.map(\.type) == ["tenant.suspended", "tenant.reinstated"])
        #expect(notices.filter(\.verified).count == 2)
        kill(a.pid, SIGTERM)
        kill(b.pid, SIGTERM)
    }
}

/// `cmkctl serve` killed (SIGKILL) right after it acknowledged a KMS event: a second server, started
/// on the same store, finishes the check once the dead one's lease expires; the suspension happens once
/// and the operator's platform gets the notice under one idempotency key.
@Suite(.serialized) struct ServeKilledMidRevocationTests {
    @Test(arguments: [0, 50, 150, 400])
    func theSuspensionCompletesOnceAfterARestart(killAfterMilliseconds: Int) async throws {
        let scratch = try Scratch()
        let receiver = try await WebhookReceiver(directory: scratch.url.path, secret: "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        defer { receiver.stop() }
        try FileManager.default.createDirectory(atPath: scratch.path(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"localKms": "\#(scratch.path(".cmkctl/local-kms.json"))", "notifications": {"url": "\#(receiver.url)", "secretFile": "\#(receiver.secretFile)"}}"#.utf8))
        _ = try scratch.write("tokens", Array("\(ServeRevocationTests.token)\n".utf8))
        let created = try JSONSerialization.jsonObject(with: try CLIRunner.run(["kms", "create-key", "--json"], in: scratch.url).stdout) as? [String: Any]
        let key = try #require(created?["arn"] as? String)
        #expect(try CLIRunner.run(["enroll", "--ticket", "SUP-9", "--tenant", "acme", "--tag", "acmeprod", "--key", key], in: scratch.url).status == 0)
        let issued = try JSONSerialization.jsonObject(with: try CLIRunner.run(["webhooks", "issue-key", "--tenant", "acme", "--json"], in: scratch.url).stdout) as? [String: String]
        let apiKey = try #require(issued?["key"])
        #expect(try CLIRunner.run(["kms", "disable", key], in: scratch.url).status == 0)

        // A short lease, so the second server takes over the dead one's check within a few seconds.
        let first = try await ServeRevocationTests.start(scratch, name: "serve-1", extra: ["--lease-seconds", "2"])
        let event = try ServeRevocationTests.event("cloudtrail-disable-key.json", key: key, id: "evt-killed")
        let (status, _) = try await ServeRevocationTests().post(first.url + "/v1/events/kms", json: event, headers: [("X-Cmk-Api-Key", apiKey)])
        #expect(status == 202)
        try await Task.sleep(for: .milliseconds(killAfterMilliseconds))
        kill(first.pid, SIGKILL)
        var reaped: Int32 = 0
        waitpid(first.pid, &reaped, 0)

        let second = try await ServeRevocationTests.start(scratch, name: "serve-2", extra: ["--lease-seconds", "2"])
        defer { ChildProcess.stop(second.pid) }
        var done = false
        for _ in 0..<600 where !done {
            // The execution's own status, not the word anywhere in its history.
            let result = try CLIRunner.run(["executions", "show", "revocation-acme-event-evt-killed", "--json"], in: scratch.url)
            let shown = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
            done = (shown?["execution"] as? [String: Any])?["status"] as? String == "succeeded"
            if !done { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(done, "the check never finished after the restart")
        let audit = try CLIRunner.run(["audit", "export", "--tenant", "acme"], in: scratch.url).stdoutText
        #expect(audit.components(separatedBy: "active -> suspended").count - 1 == 1, "exactly one suspension")
        let notices = receiver.received().filter { !$0.failed && $0.type == "tenant.suspended" }
        #expect(!notices.isEmpty && Set(notices.compactMap(\.id)).count == 1, "one idempotency key however often it was delivered: \(notices.map { ($0.id ?? "nil", $0.type ?? "nil") })")
        #expect(notices.filter(\.verified).count == notices.count)
    }
}
