import CMKServer
import CMKTenant
import CMKTesting
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// `POST /v1/events/kms` in-process: every bad request gets its status and suspends nothing; a good
/// one is acknowledged with 202 (here ignored, as the harness's tenants are on the provider's key),
/// and the same event again is a repeat. The accepted path runs through real processes in
/// ServeRevocationTests.
@Suite struct EventRouteTests {
    static let apiKey = HTTPField.Name("X-Cmk-Api-Key")!
    static var rotation: String {
        (try? String(contentsOfFile: CLIRunner.packageRoot.path + "/fixtures/kms-events/cmk-rotation.json", encoding: .utf8)) ?? ""
    }

    @Test func badRequestsGetTheirStatusAndGoodOnesAre202() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        let repository = harness.store.repository
        let (record, secret) = WebhookKey.issue(tenant: "acme", at: Date())
        try await repository.write { try await repository.insertWebhookKey(record, in: $0) }
        let signer = try StandardWebhook(secrets: [ServerHarness.webhookSecret])
        let rotation = Self.rotation
        try await harness.withClient { client in
            // No credential, a wrong key, a bearer token (the applications', not a sender's): 401.
            let none = try await client.post("/v1/events/kms", json: rotation, token: nil)
            #expect(none.status == .unauthorized && none.problemCode == "unauthorized")
            let wrong = try await client.post("/v1/events/kms", json: rotation, token: nil, headers: [Self.apiKey: "cmkwh_wrong"])
            #expect(wrong.status == .unauthorized && wrong.problemCode == "unauthorized")
            let bearer = try await client.post("/v1/events/kms", json: rotation)
            #expect(bearer.status == .unauthorized)
            // A stale signature, and one over another body.
            let stale = signer.headers(id: "m1", timestamp: Date(timeIntervalSinceNow: -600), body: Array(rotation.utf8))
            let staleResponse = try await client.post("/v1/events/kms", json: rotation, token: nil, headers: Self.fields(stale))
            #expect(staleResponse.status == .unauthorized)
            let other = signer.headers(id: "m2", timestamp: Date(), body: Array("{}".utf8))
            #expect(try await client.post("/v1/events/kms", json: rotation, token: nil, headers: Self.fields(other)).status == .unauthorized)
            // Malformed and oversized bodies: 400.
            let malformed = try await client.post("/v1/events/kms", json: "{\"id\": ", token: nil, headers: [Self.apiKey: secret])
            #expect(malformed.status == .badRequest && malformed.problemCode == "invalid-request")
            let huge = String(repeating: " ", count: KMSEvent.maximumSize) + "{}"
            #expect(try await client.post("/v1/events/kms", json: huge, token: nil, headers: [Self.apiKey: secret]).status == .badRequest)

            // A well-formed, signed event that cannot revoke: 202 ignored, then 202 repeated.
            let good = signer.headers(id: "m3", timestamp: Date(), body: Array(rotation.utf8))
            let ignored = try await client.post("/v1/events/kms", json: rotation, token: nil, headers: Self.fields(good))
            #expect(ignored.status == .accepted)
            #expect(try ignored.object["outcome"] as? String == "ignored")
            let again = try await client.post("/v1/events/kms", json: rotation, token: nil, headers: Self.fields(good))
            #expect(again.status == .accepted)
            #expect(try again.object["outcome"] as? String == "repeated")
        }
        #expect(try await repository.tenant("acme")?.state == .registered)
    }

    /// When the event cannot be recorded (the store refuses the write), the sender is told to retry:
    /// 503 with Retry-After, the one answer EventBridge retries.
    @Test func anEventThatCannotBeRecordedIs503WithRetryAfter() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.store.journal.pool.write { db in try db.execute(sql: "DROP TABLE received_events") }
        let signer = try StandardWebhook(secrets: [ServerHarness.webhookSecret])
        let rotation = Self.rotation
        try await harness.withClient { client in
            let headers = signer.headers(id: "m9", timestamp: Date(), body: Array(rotation.utf8))
            let response = try await client.post("/v1/events/kms", json: rotation, token: nil, headers: Self.fields(headers))
            #expect(response.status == .serviceUnavailable && response.problemCode == "store-unavailable")
            #expect(response.headers[.retryAfter] == "5")
        }
    }

    static func fields(_ headers: [(name: String, value: String)]) -> HTTPFields {
        var fields = HTTPFields()
        for header in headers { fields[HTTPField.Name(header.name)!] = header.value }
        return fields
    }
}
