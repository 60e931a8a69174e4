import ArgumentParser
import CMKBenchmarks
import CMKKMS
import CMKPeers
import CMKPostgres
import CMKTenant
import CMKWorkflow
import Foundation
import Synchronization

/// `cmkctl bench feed`: how long a tenant change made by one process takes to make another process
/// forget the tenant (its snapshot and cached data keys): the purge propagation of the revocation bound.
struct BenchFeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Tenant-change propagation between two processes sharing a store (the purge delay of the revocation bound).",
        discussion: """
            This process follows the store's change feed as `cmkctl serve` does; a second cmkctl process (started \
            by the benchmark) adds --changes tenants, one every --gap-ms. For each change it prints the time from \
            the change's commit in the writer to the moment this process forgot the tenant: p50, p99 and max, and \
            p99 as a fraction of the poll interval. SQLite is polled every --poll-interval-ms; PostgreSQL's triggers \
            also NOTIFY, so there the poll only covers a lost notification. Without --store a scratch SQLite file \
            is used; with a postgres:// URL use a scratch database (the benchmark's tenants stay in it).
            """)

    @Option(help: ArgumentHelp("The store to measure: a SQLite file (created) or a postgres:// URL. Default: a scratch SQLite file.", valueName: "path|url"))
    var store: String?

    @Option(help: "Tenant changes the writer process makes.")
    var changes = 200

    @Option(help: "Milliseconds between the writer's changes (each varies by up to half of it).")
    var gapMs = 20

    @Option(help: "How often the follower polls the feed, in milliseconds.")
    var pollIntervalMs = 100

    @Flag(help: .hidden)
    var writer = false

    @Option(help: .hidden)
    var runID: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--changes", 1...100_000, "changes").check(changes)
        try OptionRange("--gap-ms", 0...10_000, "milliseconds").check(gapMs)
        try OptionRange("--poll-interval-ms", 1...60_000, "milliseconds").check(pollIntervalMs)
    }

    func run() async throws {
        let directory = ".cmkctl/bench-\(UUID().uuidString.prefix(8))"
        let location = store ?? directory + "/store.sqlite"
        if store == nil { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        defer { if store == nil && !writer { try? FileManager.default.removeItem(atPath: directory) } }
        var options = StoreOptions()
        options.store = location
        if writer {
            try await options.withStore(create: false) { store in try await write(to: store.repository) }
            return
        }
        let delays = try await options.withStore(create: true) { store in
            try await follow(store.repository, location: location, scratch: directory)
        }
        let backend = PostgresLocation.isPostgresURL(location) ? "PostgreSQL (NOTIFY, poll as backup)" : "SQLite (poll)"
        var report = BenchReport(title: "tenant change → forgotten by another process, \(backend), \(delays.count) changes")
        report.add("poll_interval_ms", Double(pollIntervalMs), unit: "ms")
        report.add("delay_p50_ms", delays.p50, unit: "ms", ratioTo: Double(pollIntervalMs), ratioName: "of the poll interval")
        report.add("delay_p99_ms", delays.p99, unit: "ms", ratioTo: Double(pollIntervalMs), ratioName: "of the poll interval")
        report.add("delay_max_ms", delays.max, unit: "ms")
        report.print(json: output.json)
    }

    /// The writer process: adds tenants on a placeholder provider key (no KMS call), one per gap.
    private func write<Repository: TenantRepository>(to repository: Repository) async throws {
        let run = runID ?? "run"
        for index in 0..<changes {
            let tag = try ContextTag("bench\(index)")
            _ = try await repository.write { transaction in
                try await repository.add(tenant: "bench-feed-\(run)-\(index)", tag: tag,
                                         providerKey: "arn:aws:kms:us-east-1:111122223333:alias/cmkctl-provider",
                                         candidate: { "bench-\(run)-\(index)-\(UUID().uuidString.prefix(8))" },
                                         cause: Cause(operatorName: "bench feed"), now: Date(), in: transaction)
            }
            if gapMs > 0 {
                let jitter = Int.random(in: -(gapMs / 2)...(gapMs / 2))
                try await Task.sleep(for: .milliseconds(gapMs + jitter))
            }
        }
    }

    /// This process: follows the feed while the writer runs, and times each of the writer's tenants.
    private func follow<Repository: TenantRepository>(_ repository: Repository, location: String, scratch: String) async throws -> LatencySummary {
        let kmsPath = scratch + "/local-kms.json"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { if store != nil { try? FileManager.default.removeItem(atPath: scratch) } }
        let crypto = try TenantCrypto(repository: repository, operatorConfiguration: OperatorConfiguration(),
                                      kms: TenantKMS(local: { try LocalKMS(path: kmsPath, createIfMissing: true) },
                                                     aws: { throw KMSError(.misconfigured, "bench feed makes no AWS KMS call") }))
        let follower = crypto.changeFollower(pollInterval: .milliseconds(Int64(pollIntervalMs)))
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        let prefix = "bench-feed-\(run)-"
        let seen = Mutex<[String: Double]>([:])
        let following = Task {
            await follower.run { change, forgottenAt in
                guard change.tenant.hasPrefix(prefix) else { return }
                let delay = max(0, forgottenAt.timeIntervalSince(change.at))
                seen.withLock { if $0[change.tenant] == nil { $0[change.tenant] = delay } }
            }
        }
        defer { following.cancel() }
        while !follower.isCurrent { try await Task.sleep(for: .milliseconds(5)) }

        let outputPath = scratch + "/writer.log"
        let arguments = ["bench", "feed", "--writer", "--run-id", run, "--store", location, "--changes", String(changes), "--gap-ms", String(gapMs)]
        let pid = try ChildProcess.spawn("/proc/self/exe", arguments: arguments, environment: ProcessInfo.processInfo.environment,
                                         outputPath: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard status == 0 else {
            let log = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw TenantError(.storeFailure, "the writer process failed (status \(status)): \(log.suffix(500))")
        }
        // Every tenant the writer added must arrive; a second past the last poll is plenty.
        let deadline = ContinuousClock.now + .milliseconds(Int64(3 * pollIntervalMs)) + .seconds(2)
        while seen.withLock({ $0.count }) < changes, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let delays = seen.withLock { Array($0.values) }
        guard delays.count == changes else {
            throw TenantError(.storeFailure, "only \(delays.count) of the writer's \(changes) tenants reached the follower")
        }
        return LatencySummary(delays.map { Duration.nanoseconds(Int64($0 * 1e9)) })
    }
}
