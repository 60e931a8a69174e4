import ArgumentParser
import AsyncHTTPClient
import CMKBenchmarks
import CMKKMS
import CMKPeers
import CMKPostgres
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl bench revocation`: the revocation bound, measured end to end through real processes: two
/// `cmkctl serve`s sharing one store, tenants on the local KMS or on moto, each tenant's key disabled;
/// with a webhook, a CloudTrail `DisableKey` event posted to the first server; without, nothing but the
/// servers' probe sweep. The time until both servers refuse the tenant.
struct BenchRevocationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revocation",
        abstract: "Revocation → every process refusing the tenant, p50/p99, through two cmkctl serve processes sharing a store.",
        discussion: """
            In a scratch directory: --tenants tenants enrolled on their own keys (--kms local: the local KMS file; \
            --kms moto: moto_server with IAM checks on, every call SigV4-signed by an IAM user), an API key each, two \
            `cmkctl serve` processes (--change-poll-ms) on the store (a scratch SQLite file, or --store postgres://… \
            in a scratch database).
            --mode webhook: for each tenant in turn, a message is written through the first server, the key is \
            disabled, a CloudTrail DisableKey event is posted to the first server, and both servers are asked to \
            decrypt every 5 ms until both answer 403 tenant-suspended. Prints event → first refusal and event → every \
            process refusing, p50/p99/max over every tenant (target p99 ≤ 1 s), and the first revocation after the \
            servers start on its own.
            --mode sweep: no event. Every tenant's message is written and read through both servers (their caches hold \
            its data key), then the keys are disabled at times spread evenly over one probe interval (--probe-seconds, \
            given to both servers), and both servers are asked to decrypt every 100 ms until both refuse. Prints key \
            disabled → first refusal and → every process refusing, p50/p99/max, against the limit: the probe interval \
            plus the servers' hard cache age; and the sweep's own work, from its probe of the tenant (at the tenant's \
            turn in the period, read back from status) to every process refusing.
            """)

    @Option(help: "webhook (a KMS event tells the first server) or sweep (only the servers' probe sweep).")
    var mode: RevocationBenchMode = .webhook

    @Option(help: "KMS: local (the local KMS file) or moto (moto_server with IAM checks).")
    var kms: RevocationBenchKMS = .local

    @Option(name: .customLong("moto-server"), help: "Path of moto_server (default: next to $CMK_PEER_PYTHON, else ./.venv/bin).")
    var motoServer: String?

    @Option(help: ArgumentHelp("The store: a postgres:// URL of a scratch database; default a scratch SQLite file.", valueName: "url"))
    var store: String?

    @Option(help: "Tenants to revoke.")
    var tenants = 10

    @Option(help: "The servers' change-feed poll interval, in milliseconds.")
    var changePollMs = 100

    @Option(help: "--mode sweep: the servers' probe interval, in seconds (1 to 86400; the configuration allows 60 and up).")
    var probeSeconds: Double = 60

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--tenants", 1...500, "tenants").check(tenants)
        try OptionRange("--change-poll-ms", 1...60_000, "milliseconds").check(changePollMs)
        try OptionRange("--probe-seconds", 1...86_400, "seconds").check(probeSeconds)
    }

    func run() async throws {
        let motoExecutable = motoServer ?? MotoServer.locateExecutable(packageRoot: FileManager.default.currentDirectoryPath)
        let scratch = FileManager.default.currentDirectoryPath + "/.cmkctl/bench-revocation-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch + "/.cmkctl", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let storeArgument = store ?? scratch + "/.cmkctl/store.sqlite"
        // /proc/self/exe runs in this directory: every relative default lands in scratch.
        _ = FileManager.default.changeCurrentDirectoryPath(scratch)
        let peer = try await RevocationBenchPeer.start(kms, scratch: scratch, motoExecutable: motoExecutable)
        do {
            try await run(peer: peer, scratch: scratch, store: storeArgument)
            await peer.stop()
        } catch {
            await peer.stop()
            throw error
        }
    }

    private func run(peer: RevocationBenchPeer, scratch: String, store: String) async throws {
        var configuration = peer.configuration
        if mode == .sweep {
            // The configuration's floor is 60 s; a shorter --probe-seconds reaches the servers as their override.
            configuration.schedules.probeSeconds = max(probeSeconds, ScheduleSettings.probeSecondsRange.lowerBound)
        }
        let configPath = scratch + "/.cmkctl/operator.json"
        try JSONEncoder().encode(configuration).write(to: URL(fileURLWithPath: configPath))
        // The `cmkctl` children inherit this process's environment: on moto, the service user's credentials
        // (this process is the benchmark's own; nothing else reads them).
        if let credentials = peer.credentials {
            setenv("AWS_ACCESS_KEY_ID", credentials.accessKeyID, 1)
            setenv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey, 1)
            unsetenv("AWS_PROFILE")
            unsetenv("AWS_SESSION_TOKEN")
        }
        func cli(_ arguments: [String]) throws -> String {
            let result = try ChildProcess.run([Self.executable] + arguments + ["--store", store, "--config", configPath])
            guard result.status == 0 else {
                throw CommandFailure(status: .unavailable, message: "cmkctl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.stderr.suffix(300))")
            }
            return result.stdout
        }
        let names = (0..<tenants).map { "bench\($0)" }
        var benchTenants: [BenchTenant] = []
        for name in names {
            let key = try await peer.createKey(tag: name)
            _ = try cli(["enroll", "--ticket", "B-\(name)", "--tenant", name, "--tag", name, "--key", key.arn])
            let issued = try JSONSerialization.jsonObject(with: Data(try cli(["webhooks", "issue-key", "--tenant", name, "--json"]).utf8)) as? [String: String]
            benchTenants.append(BenchTenant(name: name, key: key, apiKey: issued?["key"]))
        }
        let token = "bench-revocation-token-\(UUID().uuidString)"
        try Data("\(token)\n".utf8).write(to: URL(fileURLWithPath: scratch + "/tokens"))
        let serveArguments = ["--config", configPath, "--store", store, "--change-poll-ms", String(changePollMs)]
            + (mode == .sweep ? ["--probe-seconds", String(probeSeconds)] : [])
        var servers: [Server] = []
        defer { for server in servers { ChildProcess.stop(server.pid) } }
        for name in ["a", "b"] {
            servers.append(try await Self.startServer(name, scratch: scratch, arguments: serveArguments, environment: ProcessInfo.processInfo.environment))
        }
        let client = SidecarClient(token: token)
        let backend = PostgresLocation.isPostgresURL(store) ? "PostgreSQL" : "SQLite"
        let kmsName = kms == .moto ? "moto" : "local KMS"
        switch mode {
        case .webhook:
            let measured = try await measureWithWebhook(benchTenants, peer: peer, servers: servers, client: client)
            // Every revocation counts, the first after the servers start included (it once queued behind the
            // start-up sweep; the sweep's checks now wait for their turns); it is also shown on its own.
            let times = measured
            let first = LatencySummary(times.map(\.first)), every = LatencySummary(times.map(\.every))
            var report = BenchReport(title: "revocation bound with a webhook: event → refused, \(tenants) tenants, two serve processes, "
                + "\(backend), \(kmsName), change poll \(changePollMs) ms")
            report.add("first_refusal_p50_ms", first.p50, unit: "ms")
            report.add("first_refusal_p99_ms", first.p99, unit: "ms")
            report.add("every_process_p50_ms", every.p50, unit: "ms")
            report.add("every_process_p99_ms", every.p99, unit: "ms", ratioTo: 1000, ratioName: "of the 1 s target")
            report.add("every_process_max_ms", every.max, unit: "ms")
            report.add("first_after_start_every_process_ms", measured[0].every.seconds * 1000, unit: "ms",
                       note: "the first revocation after the servers start (counted above too)")
            report.print(json: output.json)
        case .sweep:
            let hardAge = TenantCryptoConfiguration().cacheLimits.hardAge
            let (measured, codes) = try await measureWithSweep(benchTenants, peer: peer, servers: servers, client: client, hardAge: hardAge)
            // Each tenant is probed at its own turn in the period: from that probe (the suspension's evidence,
            // read back from status) to the last process refusing is the sweep's own work.
            var times: [Refusal] = []
            for (tenant, refusal, refusedAt) in measured {
                var refusal = refusal
                let shown = try ChildProcess.run([Self.executable, "status", "--tenant", tenant, "--json", "--store", store])
                let statuses = try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [[String: Any]]
                let probed = ((statuses?.first?["lastRevocation"] as? [String: Any])?["probedAt"] as? String).flatMap(WaitDuration.parseTimestamp)
                if let probed { refusal.afterProbe = .milliseconds(Int64((refusedAt - probed.timeIntervalSince1970) * 1000)) }
                times.append(refusal)
            }
            let first = LatencySummary(times.map(\.first)), every = LatencySummary(times.map(\.every))
            let limit = (probeSeconds + hardAge.seconds) * 1000
            var report = BenchReport(title: "revocation bound without a webhook (probe sweep every \(Self.format(probeSeconds)) s, hard cache age "
                + "\(Self.format(hardAge.seconds)) s): key disabled → refused, \(tenants) tenants, two serve processes, \(backend), \(kmsName), "
                + "change poll \(changePollMs) ms")
            report.add("first_refusal_p50_ms", first.p50, unit: "ms")
            report.add("first_refusal_p99_ms", first.p99, unit: "ms")
            report.add("every_process_p50_ms", every.p50, unit: "ms", ratioTo: limit, ratioName: "of the limit")
            report.add("every_process_p99_ms", every.p99, unit: "ms", ratioTo: limit, ratioName: "of the limit",
                       note: "refused with " + codes.sorted().joined(separator: ", "))
            report.add("every_process_max_ms", every.max, unit: "ms", ratioTo: probeSeconds * 1000, ratioName: "of the probe interval")
            let afterProbe = LatencySummary(times.compactMap(\.afterProbe))
            report.add("after_probe_p50_ms", afterProbe.p50, unit: "ms", note: "the sweep's probe of the tenant → every process refusing")
            report.add("after_probe_p99_ms", afterProbe.p99, unit: "ms")
            report.add("limit_ms", limit, unit: "ms", note: "probe interval + hard cache age")
            report.add("probe_interval_ms", probeSeconds * 1000, unit: "ms")
            report.add("hard_cache_age_ms", hardAge.seconds * 1000, unit: "ms")
            report.print(json: output.json)
        }
    }

    struct BenchTenant: Sendable {
        let name: String
        let key: KeyMetadata
        let apiKey: String?
    }

    struct Refusal: Sendable {
        let first: Duration
        let every: Duration
        /// In the sweep mode: from the probe that found the key disabled (at the tenant's turn in the period)
        /// to the last process refusing.
        var afterProbe: Duration?
    }

    /// For each tenant in turn: the key disabled, the event posted, both servers asked until they refuse.
    private func measureWithWebhook(_ benchTenants: [BenchTenant], peer: RevocationBenchPeer, servers: [Server],
                                    client: SidecarClient) async throws -> [Refusal] {
        var times: [Refusal] = []
        for tenant in benchTenants {
            let ciphertext = try await client.write(tenant.name, through: servers[0])
            try await peer.disable(tenant.key)
            let started = ContinuousClock.now
            let event = try Self.event(key: tenant.key.arn, id: "bench-\(tenant.name)")
            let answer = try await client.post(servers[0].url + "/v1/events/kms", event, apiKey: tenant.apiKey)
            guard answer.status == 202 else {
                throw CommandFailure(status: .unavailable, message: "the event for \(tenant.name) was answered \(answer.status)")
            }
            let (refusal, _) = try await client.untilRefused(tenant.name, ciphertext, by: servers, since: started, every: .milliseconds(5),
                                                             within: .seconds(120), suspendedOnly: true)
            times.append(refusal)
        }
        return times
    }

    /// Every tenant written and read through both servers, then the keys disabled at times spread evenly
    /// over one probe interval (so the disables fall at every phase of the sweep), each watched on both
    /// servers until they refuse. Returns the times and the refusal codes seen.
    private func measureWithSweep(_ benchTenants: [BenchTenant], peer: RevocationBenchPeer, servers: [Server], client: SidecarClient,
                                  hardAge: Duration) async throws -> ([(tenant: String, refusal: Refusal, refusedAt: Double)], Set<String>) {
        var ciphertexts: [String: String] = [:]
        for tenant in benchTenants {
            let ciphertext = try await client.write(tenant.name, through: servers[0])
            for server in servers {
                let read = try await client.post(server.url + "/v1/tenants/\(tenant.name)/decrypt", #"{"ciphertext": "\#(ciphertext)"}"#)
                guard read.status == 200 else {
                    throw CommandFailure(status: .unavailable, message: "\(server.url) did not decrypt for \(tenant.name): \(read.status)")
                }
            }
            ciphertexts[tenant.name] = ciphertext
        }
        let period = Duration.milliseconds(Int64((probeSeconds * 1000).rounded()))
        let start = ContinuousClock.now
        let count = benchTenants.count
        let within = period + hardAge + .seconds(60)
        return try await withThrowingTaskGroup(of: (String, Refusal, Double, String).self) { group in
            for (index, tenant) in benchTenants.enumerated() {
                let ciphertext = ciphertexts[tenant.name]!
                group.addTask {
                    try await Task.sleep(until: start + period * ((Double(index) + 0.5) / Double(count)), clock: .continuous)
                    try await peer.disable(tenant.key)
                    let disabled = ContinuousClock.now, wall = Date().timeIntervalSince1970
                    let (refusal, code) = try await client.untilRefused(tenant.name, ciphertext, by: servers, since: disabled,
                                                                        every: .milliseconds(100), within: within, suspendedOnly: false)
                    let every = refusal.every.components
                    return (tenant.name, refusal, wall + Double(every.seconds) + Double(every.attoseconds) / 1e18, code)
                }
            }
            var times: [(tenant: String, refusal: Refusal, refusedAt: Double)] = [], codes: Set<String> = []
            for try await (tenant, refusal, refusedAt, code) in group {
                times.append((tenant, refusal, refusedAt))
                codes.insert(code)
            }
            return (times, codes)
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// This binary's path (ChildProcess.run starts commands through /usr/bin/env, where /proc/self/exe is env).
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    struct Server: Sendable {
        let pid: pid_t
        let url: String
    }

    private static func startServer(_ name: String, scratch: String, arguments: [String], environment: [String: String]) async throws -> Server {
        let log = scratch + "/serve-\(name).log"
        let pid = try ChildProcess.spawn("/proc/self/exe", arguments: [
            "serve", "--listen", "127.0.0.1:0", "--token-file", scratch + "/tokens",
        ] + arguments, environment: environment, outputPath: log)
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

/// The benchmark's calls to the servers' sidecar API.
struct SidecarClient: Sendable {
    let token: String

    /// A message written through `server` for `tenant`; its ciphertext.
    func write(_ tenant: String, through server: BenchRevocationCommand.Server) async throws -> String {
        let written = try await post(server.url + "/v1/tenants/\(tenant)/encrypt", #"{"plaintext": "YmVuY2g="}"#)
        guard let ciphertext = written.object["ciphertext"] as? String else {
            throw CommandFailure(status: .unavailable, message: "the sidecar did not encrypt for \(tenant): \(written.status)")
        }
        return ciphertext
    }

    /// Asks every server to decrypt `ciphertext` every `interval` until each refuses (`403 tenant-suspended`,
    /// or with `suspendedOnly` false any 403/4xx problem); the first and the last refusal after `since`,
    /// and the last refusal's code.
    func untilRefused(_ tenant: String, _ ciphertext: String, by servers: [BenchRevocationCommand.Server], since started: ContinuousClock.Instant,
                      every interval: Duration, within limit: Duration, suspendedOnly: Bool) async throws -> (BenchRevocationCommand.Refusal, String) {
        var refused: [Duration?] = Array(repeating: nil, count: servers.count)
        var code = ""
        while refused.contains(where: { $0 == nil }), ContinuousClock.now - started < limit {
            for (position, server) in servers.enumerated() where refused[position] == nil {
                let reply = try await post(server.url + "/v1/tenants/\(tenant)/decrypt", #"{"ciphertext": "\#(ciphertext)"}"#)
                let answer = reply.object["code"] as? String ?? ""
                let isRefusal = suspendedOnly ? reply.status == 403 && answer == "tenant-suspended" : (400..<500).contains(reply.status) && !answer.isEmpty
                if isRefusal {
                    refused[position] = ContinuousClock.now - started
                    code = answer
                }
            }
            try await Task.sleep(for: interval)
        }
        let times = refused.compactMap { $0 }
        guard times.count == servers.count else {
            throw CommandFailure(status: .unavailable, message: "\(tenant) was not refused by every server within \(limit)")
        }
        return (BenchRevocationCommand.Refusal(first: times.min()!, every: times.max()!), code)
    }

    func post(_ url: String, _ body: String, apiKey: String? = nil) async throws -> (status: Int, object: [String: Any]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "X-Cmk-Api-Key", value: apiKey) } else { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(Array(body.utf8))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]) ?? [:]
        return (Int(response.status.code), object)
    }
}
