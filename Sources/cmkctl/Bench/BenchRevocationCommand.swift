import ArgumentParser
import AsyncHTTPClient
import CMKBenchmarks
import CMKKMS
import CMKPeers
import CMKPostgres
import CMKTenant
import Foundation

/// `cmkctl bench revocation`: the revocation bound with a webhook, measured end to end through real
/// processes: two `cmkctl serve`s sharing one store, tenants on the local KMS, each tenant's key disabled
/// and a CloudTrail `DisableKey` event posted to the first server; the time from the event to the moment
/// both servers refuse the tenant (403 `tenant-suspended`).
struct BenchRevocationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revocation",
        abstract: "Event → every process refusing the tenant, p50/p99, through two cmkctl serve processes sharing a store.",
        discussion: """
            In a scratch directory: --tenants tenants enrolled on their own keys in the local KMS, an API key each, two \
            `cmkctl serve` processes (--change-poll-ms) on the store (a scratch SQLite file, or --store postgres://… \
            in a scratch database). For each tenant in turn: a message is written through the first server, the key \
            is disabled, the event is posted to the first server, and both servers are asked to decrypt every 5 ms \
            until both answer 403 tenant-suspended. Prints event → first refusal and event → every process refusing, \
            p50/p99/max (target p99 ≤ 1 s). The event path includes our own probe (DescribeKey, GenerateDataKey, \
            Decrypt) and the suspension's commit; the propagation is the change feed's.
            """)

    @Option(help: ArgumentHelp("The store: a postgres:// URL of a scratch database; default a scratch SQLite file.", valueName: "url"))
    var store: String?

    @Option(help: "Tenants to revoke, one after another.")
    var tenants = 10

    @Option(help: "The servers' change-feed poll interval, in milliseconds.")
    var changePollMs = 100

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--tenants", 1...500, "tenants").check(tenants)
        try OptionRange("--change-poll-ms", 1...60_000, "milliseconds").check(changePollMs)
    }

    func run() async throws {
        let scratch = FileManager.default.currentDirectoryPath + "/.cmkctl/bench-revocation-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch + "/.cmkctl", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let storeArgument = store ?? scratch + "/.cmkctl/store.sqlite"
        func cli(_ arguments: [String]) throws -> String {
            let result = try ChildProcess.run([Self.executable] + arguments + ["--store", storeArgument])
            guard result.status == 0 else {
                throw CommandFailure(status: .unavailable, message: "cmkctl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.stderr.suffix(300))")
            }
            return result.stdout
        }
        // /proc/self/exe runs in this directory: every relative default (local KMS, configuration) lands in scratch.
        FileManager.default.changeCurrentDirectoryPath(scratch)
        let kms = try LocalKMS(path: scratch + "/.cmkctl/local-kms.json", createIfMissing: true)
        var keys: [String: String] = [:], apiKeys: [String: String] = [:]
        for index in 0..<tenants {
            let tenant = "bench\(index)"
            let key = try await kms.createKey(description: tenant, policy: nil, alias: nil).arn
            keys[tenant] = key
            _ = try cli(["enroll", "--ticket", "B-\(index)", "--tenant", tenant, "--tag", tenant, "--key", key])
            let issued = try JSONSerialization.jsonObject(with: Data(try cli(["webhooks", "issue-key", "--tenant", tenant, "--json"]).utf8)) as? [String: String]
            apiKeys[tenant] = issued?["key"]
        }
        let token = "bench-revocation-token-\(UUID().uuidString)"
        try Data("\(token)\n".utf8).write(to: URL(fileURLWithPath: scratch + "/tokens"))
        let servers = try await [startServer("a", scratch: scratch, store: storeArgument), startServer("b", scratch: scratch, store: storeArgument)]
        defer { for server in servers { ChildProcess.stop(server.pid) } }

        var first: [Duration] = [], every: [Duration] = []
        for index in 0..<tenants {
            let tenant = "bench\(index)"
            let written = try await post(servers[0].url + "/v1/tenants/\(tenant)/encrypt", #"{"plaintext": "YmVuY2g="}"#, token: token)
            guard let ciphertext = written.object["ciphertext"] as? String else {
                throw CommandFailure(status: .unavailable, message: "the sidecar did not encrypt for \(tenant): \(written.object)")
            }
            try await kms.disableKey(keyID: keys[tenant]!)
            let started = ContinuousClock.now
            let event = try Self.event(key: keys[tenant]!, id: "bench-\(tenant)")
            let answer = try await post(servers[0].url + "/v1/events/kms", event, apiKey: apiKeys[tenant])
            guard answer.status == 202 else {
                throw CommandFailure(status: .unavailable, message: "the event for \(tenant) was answered \(answer.status)")
            }
            var refused: [Duration?] = [nil, nil]
            while refused.contains(where: { $0 == nil }), ContinuousClock.now - started < .seconds(120) {
                for (position, server) in servers.enumerated() where refused[position] == nil {
                    let reply = try await post(server.url + "/v1/tenants/\(tenant)/decrypt", #"{"ciphertext": "\#(ciphertext)"}"#, token: token)
                    if reply.status == 403, reply.object["code"] as? String == "tenant-suspended" { refused[position] = ContinuousClock.now - started }
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            let times = refused.compactMap { $0 }
            guard times.count == 2 else { throw CommandFailure(status: .unavailable, message: "\(tenant) was not refused by both servers within 120 s") }
            first.append(times.min()!)
            every.append(times.max()!)
        }
        let firstSummary = LatencySummary(first), everySummary = LatencySummary(every)
        var report = BenchReport(title: "revocation bound with a webhook: event → refused, \(tenants) tenants, two serve processes, "
            + (PostgresLocation.isPostgresURL(storeArgument) ? "PostgreSQL" : "SQLite") + ", change poll \(changePollMs) ms")
        report.add("first_refusal_p50_ms", firstSummary.p50, unit: "ms")
        report.add("first_refusal_p99_ms", firstSummary.p99, unit: "ms")
        report.add("every_process_p50_ms", everySummary.p50, unit: "ms")
        report.add("every_process_p99_ms", everySummary.p99, unit: "ms", ratioTo: 1000, ratioName: "of the 1 s target")
        report.add("every_process_max_ms", everySummary.max, unit: "ms")
        report.print(json: output.json)
    }

    /// This binary's path (ChildProcess.run starts commands through /usr/bin/env, where /proc/self/exe is env).
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    struct Server {
        let pid: pid_t
        let url: String
    }

    private func startServer(_ name: String, scratch: String, store: String) async throws -> Server {
        let log = scratch + "/serve-\(name).log"
        let pid = try ChildProcess.spawn("/proc/self/exe", arguments: [
            "serve", "--listen", "127.0.0.1:0", "--token-file", scratch + "/tokens", "--store", store,
            "--change-poll-ms", String(changePollMs),
        ], environment: ProcessInfo.processInfo.environment, outputPath: log)
        for _ in 0..<1200 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cmkctl serve: main listening on http://") }),
               let port = line.split(separator: ":").last {
                return Server(pid: pid, url: "http://127.0.0.1:\(port)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        ChildProcess.stop(pid)
        throw CommandFailure(status: .unavailable, message: "cmkctl serve did not start: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(400) ?? "")")
    }

    private func post(_ url: String, _ body: String, token: String? = nil, apiKey: String? = nil) async throws -> (status: Int, object: [String: Any]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let apiKey { request.headers.add(name: "X-Cmk-Api-Key", value: apiKey) }
        request.body = .bytes(Array(body.utf8))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]) ?? [:]
        return (Int(response.status.code), object)
    }

    /// A CloudTrail `DisableKey` event as EventBridge delivers it, for `key`.
    static func event(key: String, id: String) throws -> String {
        let arn = try KeyARN(validating: key)
        let formatter = ISO8601DateFormatter()
        let now = formatter.string(from: Date())
        let document: [String: Any] = [
            "version": "0", "id": id, "detail-type": "AWS API Call via CloudTrail", "source": "aws.kms", "account": arn.account,
            "time": now, "region": arn.region, "resources": [],
            "detail": [
                "eventVersion": "1.09", "eventTime": now, "eventSource": "kms.amazonaws.com", "eventName": "DisableKey",
                "awsRegion": arn.region, "requestParameters": ["keyId": arn.resourceID], "readOnly": false,
                "resources": [["accountId": arn.account, "type": "AWS::KMS::Key", "ARN": key]], "eventType": "AwsApiCall",
            ] as [String: Any],
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
    }
}
