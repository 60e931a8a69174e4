import AsyncHTTPClient
import CMKKMS
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// Revocation against moto's KMS over real HTTP with IAM checks on (every call SigV4-signed by the
/// service user, its signature checked by moto): a real-shaped CloudTrail event at two running `cmkctl
/// serve`s for a key the customer disabled in moto; and the cases where cmkctl cannot probe (a KMS
/// endpoint that throttles every call, cmkctl's own credentials refused), where no tenant is touched
/// however its key stands.
@Suite(.serialized) struct RevocationMotoTests {
    static let token = "revocation-moto-token-0123456789"

    /// acme enrolled on a moto key in us-east-1 whose policy lets the service user use it; the key.
    static func enrolledAcme(_ harness: TenantHarness, principal: String) async throws -> (KeyMetadata, any KMSClient) {
        let client = try harness.kms.client(forKey: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
        let key = try await client.createKey(description: "acme", policy: EnrollmentMotoTests.policy(principal: principal,
                                                                                                       cryptoActions: EnrollmentMotoTests.allCrypto))
        #expect(try await harness.enroll("acme", keys: [key.arn], tag: "acmeprod").state == "active")
        return (key, client)
    }

    /// The environment of a `cmkctl` child signing with `credentials` (no profile or session token).
    static func environment(_ credentials: AWSCredentials) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = credentials.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
        environment.removeValue(forKey: "AWS_PROFILE")
        environment.removeValue(forKey: "AWS_SESSION_TOKEN")
        return environment
    }

    /// Writes `configuration` where the children read it; its path.
    static func write(_ configuration: OperatorConfiguration, in harness: TenantHarness, name: String = "operator.json") throws -> String {
        let path = harness.directory + "/" + name
        try JSONEncoder().encode(configuration).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A fixture event from fixtures/kms-events re-aimed at `key` (moto's account and key id), with a fresh id and time.
    static func event(_ fixture: String, key: String, id: String) throws -> [UInt8] {
        let arn = try KeyARN(validating: key)
        var text = try String(contentsOfFile: TenantHarness.packageRoot + "/fixtures/kms-events/" + fixture, encoding: .utf8)
        text = text.replacingOccurrences(of: "1234abcd-12ab-34cd-56ef-1234567890ab", with: arn.resourceID)
            .replacingOccurrences(of: "111122223333", with: arn.account).replacingOccurrences(of: "us-east-1", with: arn.region)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        object["id"] = id
        object["time"] = ISO8601DateFormatter().string(from: Date())
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    struct Server {
        let pid: pid_t
        let url: String
    }

    static func serve(_ harness: TenantHarness, name: String, config: String, environment: [String: String]) async throws -> Server {
        let log = harness.directory + "/\(name).log"
        let pid = try ChildProcess.spawn(CLIRunner.binary, arguments: [
            "serve", "--listen", "127.0.0.1:0", "--token-file", harness.directory + "/tokens", "--change-poll-ms", "100",
            "--store", harness.fresh.location, "--config", config,
        ], environment: environment, outputPath: log)
        for _ in 0..<1200 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cmkctl serve: main listening on http://") }),
               let port = line.split(separator: ":").last {
                return Server(pid: pid, url: "http://127.0.0.1:\(port)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        ChildProcess.stop(pid)
        throw KMSError(.unreachable, "cmkctl serve did not start: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(600) ?? "")")
    }

    static func post(_ url: String, _ body: [UInt8], headers: [(String, String)]) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]) ?? [:]
        return (Int(response.status.code), object)
    }

    static func decrypt(_ server: Server, _ ciphertext: String) async throws -> (Int, String?) {
        let (status, object) = try await post(server.url + "/v1/tenants/acme/decrypt", Array(#"{"ciphertext": "\#(ciphertext)"}"#.utf8),
                                              headers: [("Authorization", "Bearer \(token)")])
        return (status, object["code"] as? String)
    }

    @Test func aDisableKeyEventForAMotoKeySuspendsOnBothServersAndEnableKeyReinstates() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await EnrollmentMotoTests().harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let (key, client) = try await Self.enrolledAcme(harness, principal: principal)
            let receiver = try await WebhookReceiver(directory: harness.directory, secret: StandardWebhook.generateSecret())
            defer { receiver.stop() }
            var configuration = harness.configuration
            configuration.notifications = NotificationSettings(url: receiver.url, secretFile: receiver.secretFile)
            let config = try Self.write(configuration, in: harness)
            try Data("\(Self.token)\n".utf8).write(to: URL(fileURLWithPath: harness.directory + "/tokens"))
            let environment = Self.environment(credentials)
            let issued = try CLIRunner.run(["webhooks", "issue-key", "--tenant", "acme", "--json", "--store", harness.fresh.location, "--config", config],
                                           environment: environment)
            #expect(issued.status == 0, "\(issued.stderr)")
            let apiKey = try #require((try JSONSerialization.jsonObject(with: issued.stdout) as? [String: String])?["key"])

            let a = try await Self.serve(harness, name: "serve-a", config: config, environment: environment)
            defer { ChildProcess.stop(a.pid) }
            let b = try await Self.serve(harness, name: "serve-b", config: config, environment: environment)
            defer { ChildProcess.stop(b.pid) }
            let (written, object) = try await Self.post(a.url + "/v1/tenants/acme/encrypt", Array(#"{"plaintext": "c2VjcmV0"}"#.utf8),
                                                        headers: [("Authorization", "Bearer \(Self.token)")])
            #expect(written == 200, "\(object)")
            let ciphertext = try #require(object["ciphertext"] as? String)
            #expect(try await Self.decrypt(b, ciphertext).0 == 200)

            // The customer disables the key in moto; CloudTrail's DisableKey reaches A.
            try await client.disableKey(keyID: key.keyID)
            let disable = try Self.event("cloudtrail-disable-key.json", key: key.arn, id: "evt-moto-disable")
            let (status, accepted) = try await Self.post(a.url + "/v1/events/kms", disable, headers: [("X-Cmk-Api-Key", apiKey)])
            #expect(status == 202 && accepted["outcome"] as? String == "accepted", "\(accepted)")
            var refused: [(Int, String?)] = []
            for _ in 0..<300 {
                refused = [try await Self.decrypt(a, ciphertext), try await Self.decrypt(b, ciphertext)]
                if refused.allSatisfy({ $0 == (403, "tenant-suspended") }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(refused.count == 2 && refused.allSatisfy { $0 == (403, "tenant-suspended") }, "\(refused)")
            #expect(try await harness.store.tenant("acme")?.state == .suspended)
            let suspension = try #require(try await harness.store.auditEntries(tenant: "acme").last { $0.action == "active -> suspended" })
            #expect(suspension.detail["class"] == "revocation" && suspension.detail["key"] == key.arn)

            // The key back in moto; EnableKey reinstates acme on both servers.
            try await client.enableKey(keyID: key.keyID)
            let enable = try Self.event("cloudtrail-enable-key.json", key: key.arn, id: "evt-moto-enable")
            #expect(try await Self.post(a.url + "/v1/events/kms", enable, headers: [("X-Cmk-Api-Key", apiKey)]).0 == 202)
            var back = false
            for _ in 0..<300 where !back {
                let fromA = try await Self.decrypt(a, ciphertext).0, fromB = try await Self.decrypt(b, ciphertext).0
                back = fromA == 200 && fromB == 200
                if !back { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(back)
            var notices: [WebhookReceiver.Received] = []
            for _ in 0..<100 {
                notices = receiver.received().filter { !$0.failed }
                if notices.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(notices.map(\.type) == ["tenant.suspended", "tenant.reinstated"])
            #expect(notices.allSatisfy(\.verified) && notices.first?.field("tenant", inData: true) == "acme")
            kill(a.pid, SIGTERM)
            kill(b.pid, SIGTERM)
        }
    }

    /// Starts Tests/Peers/kms_flaky_server.py answering every request with a 400 ThrottlingException; its
    /// URL and the file where it logs one line per request.
    static func throttlingEndpoint(_ directory: String) async throws -> (url: String, log: String, pid: pid_t) {
        let log = directory + "/throttling.out"
        let python = ProcessInfo.processInfo.environment["CMK_PEER_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
            ?? TenantHarness.packageRoot + "/.venv/bin/python"
        let script = Array(repeating: "throttle", count: 500).joined(separator: ",")
        let pid = try ChildProcess.spawn(python, arguments: [TenantHarness.packageRoot + "/Tests/Peers/kms_flaky_server.py", script],
                                         environment: ProcessInfo.processInfo.environment, outputPath: log)
        for _ in 0..<400 {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), let line = text.split(separator: "\n").first, let port = Int(line) {
                return ("http://127.0.0.1:\(port)", log, pid)
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        ChildProcess.stop(pid)
        throw KMSError(.unreachable, "the throttling endpoint did not start")
    }

    /// `cmkctl sweep probe --json` for acme with `config` and `environment`: the exit status and the one check.
    static func sweep(_ harness: TenantHarness, config: String, environment: [String: String]) throws -> (Int32, [String: Any]) {
        let result = try CLIRunner.run(["sweep", "probe", "--tenant", "acme", "--json", "--store", harness.fresh.location, "--config", config],
                                       environment: environment)
        let checks = (try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])?["checks"] as? [[String: Any]]
        return (result.status, checks?.first ?? ["stderr": result.stderr])
    }

    /// `cmkctl status --tenant acme --json`: the tenant's state and alerts.
    static func status(_ harness: TenantHarness) throws -> (state: String?, alerts: [String]) {
        let result = try CLIRunner.run(["status", "--tenant", "acme", "--json", "--store", harness.fresh.location])
        let status = (try? JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])?.first
        return (status?["state"] as? String, status?["alerts"] as? [String] ?? [])
    }

    /// The tenant's KMS endpoint throttles every call (the operator's configuration points us-east-1 at
    /// it): the client retries each call with backoff, the check waits for its own retry, acme stays
    /// active although its key really is disabled, and `status` shows the alert.
    @Test func aThrottlingKMSDuringTheProbeNeverSuspendsAndRaisesAnAlert() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await EnrollmentMotoTests().harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let (key, client) = try await Self.enrolledAcme(harness, principal: principal)
            try await client.disableKey(keyID: key.keyID)
            let throttling = try await Self.throttlingEndpoint(harness.directory)
            defer { ChildProcess.stop(throttling.pid) }
            var configuration = harness.configuration
            configuration.kmsEndpoints["us-east-1"] = throttling.url
            let config = try Self.write(configuration, in: harness)

            let (exit, check) = try Self.sweep(harness, config: config, environment: Self.environment(credentials))
            #expect(exit == 75 && check["outcome"] as? String == "retrying", "\(check)")
            #expect(try await harness.store.tenant("acme")?.state == .active)
            // Every call the probe made was tried three times (the client's backoff) before the step failed.
            let requests = try String(contentsOfFile: throttling.log, encoding: .utf8).split(separator: "\n").dropFirst()
            #expect(requests.count >= 3 && requests.allSatisfy { $0.contains("throttle") }, "\(requests)")
            let execution = try #require(check["execution"] as? String)
            let history = try await harness.journal.history(of: execution)
            #expect(history.contains { $0.kind == .taskFailed && $0.detail["error"]?.stringValue == "KMS.Unavailable" })
            #expect(history.contains { $0.kind == .retryScheduled })
            let status = try Self.status(harness)
            #expect(status.state == "active")
            #expect(status.alerts.count == 1 && status.alerts[0].contains("cannot probe (KMS.Unavailable"), "\(status.alerts)")
        }
    }

    /// cmkctl's own credentials refused by moto's IAM checks (the right access key with a wrong secret, or
    /// an access key moto never issued): a misconfiguration, so acme stays active although its key
    /// really is disabled, and `status` shows the alert.
    @Test(arguments: ["wrong secret", "unknown access key"])
    func wrongOperatorCredentialsTouchNoTenantAndRaiseAnAlert(mistake: String) async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await EnrollmentMotoTests().harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let (key, client) = try await Self.enrolledAcme(harness, principal: principal)
            try await client.disableKey(keyID: key.keyID)
            let config = try Self.write(harness.configuration, in: harness)
            let wrong = mistake == "wrong secret"
                ? AWSCredentials(accessKeyID: credentials.accessKeyID, secretAccessKey: "not-" + credentials.secretAccessKey)
                : AWSCredentials(accessKeyID: "AKIAUNKNOWNKEY000000", secretAccessKey: credentials.secretAccessKey)

            let (exit, check) = try Self.sweep(harness, config: config, environment: Self.environment(wrong))
            #expect(exit == 75 && check["outcome"] as? String == "retrying", "\(check)")
            #expect(try await harness.store.tenant("acme")?.state == .active)
            let execution = try #require(check["execution"] as? String)
            let history = try await harness.journal.history(of: execution)
            #expect(history.contains { $0.kind == .taskFailed && $0.detail["error"]?.stringValue == "KMS.Misconfigured" }, "\(history.map(\.detail))")
            let status = try Self.status(harness)
            #expect(status.state == "active")
            #expect(status.alerts.count == 1 && status.alerts[0].contains("cannot probe (KMS.Misconfigured"), "\(status.alerts)")

            // The right credentials again: the next sweep's probe reaches moto and finds the key disabled.
            let (_, settled) = try Self.sweep(harness, config: config, environment: Self.environment(credentials))
            #expect(settled["outcome"] as? String == "suspended", "\(settled)")
        }
    }
}
