import CMKTesting
import Foundation
import Testing

/// `cmkctl bench feed` between two real processes: every tenant the writer adds reaches the follower,
/// on SQLite and on PostgreSQL (the figures themselves are the benchmark's, not asserted here).
@Suite struct BenchFeedCLITests {
    @Test(arguments: TestBackend.allCases)
    func everyChangeOfTheWriterProcessReachesTheFollower(backend: TestBackend) throws {
        let scratch = try Scratch()
        var arguments = ["bench", "feed", "--changes", "12", "--gap-ms", "5", "--json"]
        if backend == .postgres {
            arguments += ["--store", try PostgresServer.shared(packageRoot: CLIRunner.packageRoot.path).freshDatabase("feed")]
        }
        let result = try CLIRunner.run(arguments, in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        #expect(report?["poll_interval_ms"] as? Double == 100)
        let p50 = try #require(report?["delay_p50_ms"] as? Double)
        let max = try #require(report?["delay_max_ms"] as? Double)
        #expect(p50 >= 0 && max >= p50)
    }
}

/// `cmkctl bench revocation` with one tenant: two real servers, a real event, both refuse.
@Suite struct BenchRevocationCLITests {
    @Test func oneTenantIsRefusedByBothServers() throws {
        let scratch = try Scratch()
        let result = try CLIRunner.run(["bench", "revocation", "--tenants", "1", "--json"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let every = try #require(report?["every_process_p99_ms"] as? Double)
        let first = try #require(report?["first_refusal_p99_ms"] as? Double)
        #expect(every >= first && first > 0)
    }

    /// Without a webhook: the servers' probe sweep (every 2 s here) alone makes both refuse, each within
    /// one probe interval of the disable (far inside the limit, interval + hard cache age).
    @Test(arguments: TestBackend.allCases)
    func withoutAWebhookTheSweepAloneMakesBothServersRefuse(backend: TestBackend) throws {
        let scratch = try Scratch()
        var arguments = ["bench", "revocation", "--mode", "sweep", "--probe-seconds", "2", "--tenants", "2", "--json"]
        if backend == .postgres {
            arguments += ["--store", try PostgresServer.shared(packageRoot: CLIRunner.packageRoot.path).freshDatabase("revocation")]
        }
        let result = try CLIRunner.run(arguments, in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let every = try #require(report?["every_process_max_ms"] as? Double)
        let first = try #require(report?["first_refusal_p50_ms"] as? Double)
        #expect(report?["limit_ms"] as? Double == 302_000 && report?["probe_interval_ms"] as? Double == 2000)
        // One interval, plus the probe, the suspension and the change feed (with room for a loaded machine).
        #expect(first > 0 && every >= first && every < 2000 + 4000, "\(report ?? [:])")
        // From the probe at the tenant's turn to both refusing: the suspension and the change feed only.
        let afterProbe = try #require(report?["after_probe_p99_ms"] as? Double)
        #expect(afterProbe >= 0 && afterProbe < every, "\(report ?? [:])")
    }

    /// On moto (IAM checks on, every call signed): the key disabled over SigV4, the event posted, both refuse.
    @Test func onMotoOneTenantIsRefusedByBothServers() throws {
        let scratch = try Scratch()
        let result = try CLIRunner.run(["bench", "revocation", "--kms", "moto", "--tenants", "1", "--json"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let every = try #require(report?["every_process_p99_ms"] as? Double)
        let first = try #require(report?["first_refusal_p99_ms"] as? Double)
        #expect(every >= first && first > 0)
    }
}
