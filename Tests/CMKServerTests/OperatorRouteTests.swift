import CMKServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Health, readiness, metrics and where they are served.
@Suite struct OperatorRouteTests {
    @Test func healthAndReadinessOnALoopbackListener() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let live = try await client.get("/health/live", token: nil)
            #expect(live.status == .ok)
            let ready = try await client.get("/health/ready", token: nil)
            #expect(ready.status == .ok)
            #expect(try ready.object["status"] as? String == "ready")
            #expect(try ready.object["checks"] as? [String: String] == ["store": "ok"])
        }
    }

    /// A check added through the configuration (where the change-feed listener's goes) that fails makes
    /// the sidecar not ready; every check is reported by name, and liveness is unaffected.
    @Test func aFailingCheckMakesTheSidecarNotReady() async throws {
        let behind = ReadinessCheck(name: "change-feed") { throw ServerError(.configuration, "the listener is behind") }
        let harness = try await ServerHarness(readinessChecks: [behind])
        defer { harness.remove() }
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let ready = try await client.get("/health/ready", token: nil)
            #expect(ready.status == .serviceUnavailable)
            #expect(try ready.object["status"] as? String == "not-ready")
            #expect(try ready.object["checks"] as? [String: String] == ["store": "ok", "change-feed": "failed"])
            #expect(!ready.text.contains("behind"))
            #expect(try await client.get("/health/live", token: nil).status == .ok)
        }
    }

    @Test func operatorRoutesLeaveAPublicListenerForTheAdminOne() async throws {
        let harness = try await ServerHarness(listen: ListenAddress(host: "0.0.0.0", port: 8765))
        defer { harness.remove() }
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            for path in ["/health/live", "/health/ready", "/metrics"] {
                #expect(try await client.get(path, token: nil).status == .notFound, "\(path)")
            }
            #expect(try await client.get("/openapi.json", token: nil).status == .ok)
        }
        let withAdmin = try await ServerHarness(adminListen: ListenAddress(host: "127.0.0.1", port: 9000))
        defer { withAdmin.remove() }
        try await withAdmin.withClient { (client: any TestClientProtocol) async throws in
            #expect(try await client.get("/metrics", token: nil).status == .notFound)
        }
        try await withAdmin.withAdminClient { (client: any TestClientProtocol) async throws in
            #expect(try await client.get("/health/ready", token: nil).status == .ok)
            #expect(try await client.get("/metrics", token: nil).status == .ok)
            #expect(try await client.get("/v1/tenants/acme", token: nil).status == .notFound)
        }
    }

    @Test func metricsCarryRequestsLatenciesCacheAndKMSFamilies() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            for _ in 0..<3 {
                _ = try await client.post("/v1/tenants/acme/encrypt", json: #"{"plaintext": "AAAA"}"#)
            }
            _ = try await client.post("/v1/tenants/nobody/encrypt", json: #"{"plaintext": "AAAA"}"#)
            try await harness.server.crypto.purge(tenant: "acme")
            let metrics = try await client.get("/metrics", token: nil)
            #expect(metrics.status == .ok)
            let text = metrics.text
            #expect(text.contains(#"cmk_http_requests_total{route="/v1/tenants/{tenant}/encrypt",method="POST",status="200"} 3"#))
            #expect(text.contains(#"cmk_http_requests_total{route="/v1/tenants/{tenant}/encrypt",method="POST",status="404"} 1"#))
            // Sub-millisecond buckets for the crypto routes.
            #expect(text.contains(#"cmk_http_request_duration_seconds_bucket{route="/v1/tenants/{tenant}/encrypt",method="POST",le="0.0001"}"#))
            #expect(text.contains("cmk_cache_hits_total 2"))
            #expect(text.contains("cmk_cache_misses_total 1"))
            #expect(text.contains("cmk_cache_purges_total 1"))
            #expect(text.contains("cmk_cache_stale_serves_total 0"))
            #expect(text.contains("cmk_cache_refreshes_total 0"))
            #expect(text.contains("cmk_kms_calls_total 1"))
            #expect(text.contains(#"cmk_kms_region_successes_total{region="local"} 1"#))
            #expect(text.contains("cmk_kms_multi_region_encrypts_total 1"))
            // Tenant ids never become label values.
            #expect(!text.contains("nobody"))
            #expect(!text.contains("acme"))
        }
    }
}
