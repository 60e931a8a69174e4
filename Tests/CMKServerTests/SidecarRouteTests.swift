import CMKKMS
import CMKServer
import CMKTenant
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The /v1 routes in-process over a real SQLite store and the local KMS: round trips in JSON and
/// octet-stream, the bearer tokens, every problem code, batches and rewrap.
@Suite struct SidecarRouteTests {
    static let plaintext = Array("Quarterly numbers for tenant acme. \u{1F4C8}".utf8)

    @Test func jsonRoundTripUnderTheTenantsGeneration() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let encrypted = try await client.post("/v1/tenants/acme/encrypt",
                                                  json: #"{"plaintext": "\#(base64(Self.plaintext))", "context": {"purpose": "report"}}"#)
            #expect(encrypted.status == .ok)
            let object = try encrypted.object
            #expect(object["generation"] as? Int == 0)
            let ciphertext = try #require(object["ciphertext"] as? String)
            // The caller's pairs must be in the message; none at all is fine too (the tenant pair is always required).
            for context in [#", "context": {"purpose": "report"}"#, ""] {
                let decrypted = try await client.post("/v1/tenants/acme/decrypt", json: #"{"ciphertext": "\#(ciphertext)"\#(context)}"#)
                #expect(decrypted.status == .ok)
                #expect(unbase64(try decrypted.object["plaintext"]) == Self.plaintext)
            }
            let wrongContext = try await client.post("/v1/tenants/acme/decrypt",
                                                     json: #"{"ciphertext": "\#(ciphertext)", "context": {"purpose": "payroll"}}"#)
            #expect(wrongContext.status == .unprocessableContent)
            #expect(wrongContext.problemCode == "decrypt-failed")
        }
    }

    @Test func octetStreamRoundTripStreamsBothWays() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        var generator = SystemRandomNumberGenerator()
        let plaintext = (0..<(3 << 20) + 17).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let encrypted = try await client.post("/v1/tenants/acme/encrypt", bytes: plaintext, context: #"{"purpose":"backup"}"#)
            #expect(encrypted.status == .ok)
            #expect(encrypted.headers[.contentType] == "application/octet-stream")
            #expect(encrypted.headers[HTTPField.Name("Cmk-Key-Generation")!] == "0")
            #expect(encrypted.bytes.count > plaintext.count)
            let decrypted = try await client.post("/v1/tenants/acme/decrypt", bytes: encrypted.bytes, context: #"{"purpose":"backup"}"#)
            #expect(decrypted.status == .ok)
            #expect(decrypted.bytes == plaintext)
            // The JSON decrypt reads the same message.
            let json = try await client.post("/v1/tenants/acme/decrypt", json: #"{"ciphertext": "\#(base64(encrypted.bytes))"}"#)
            #expect(unbase64(try json.object["plaintext"]) == plaintext)
            // A header that is not a JSON object of strings is refused before anything is read.
            let badHeader = try await client.post("/v1/tenants/acme/encrypt", bytes: plaintext, context: "purpose=backup")
            #expect(badHeader.problemCode == "invalid-request")
            #expect(badHeader.status == .badRequest)
        }
    }

    @Test func everyV1RouteNeedsAnAcceptedToken() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let body = #"{"plaintext": "\#(base64(Self.plaintext))"}"#
            for token in [nil, "not-a-token-of-this-server", ServerHarness.tokens[0] + "x", String(ServerHarness.tokens[0].dropLast())] {
                let refused = try await client.post("/v1/tenants/acme/encrypt", json: body, token: token)
                #expect(refused.status == .unauthorized)
                #expect(refused.problemCode == "unauthorized")
                #expect(!refused.text.contains(ServerHarness.tokens[0]))
            }
            let basic = try await client.post("/v1/tenants/acme/encrypt", json: body, token: nil, headers: [.authorization: "Basic YWxhZGRpbjpvcGVuc2VzYW1l"])
            #expect(basic.status == .unauthorized)
            #expect(try await client.get("/v1/tenants/acme", token: nil).status == .unauthorized)
            #expect(try await client.get("/v1/tenants/nobody", token: nil).problemCode == "unauthorized")
            // Either token of a rotation is accepted.
            for token in ServerHarness.tokens {
                #expect(try await client.post("/v1/tenants/acme/encrypt", json: body, token: token).status == .ok)
            }
        }
    }

    @Test func tenantStatesAreProblems() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.add("initech", tag: "initech")
        let body = #"{"plaintext": "\#(base64(Self.plaintext))"}"#
        let message = try await harness.value { client in
            try #require(try await client.post("/v1/tenants/initech/encrypt", json: body).object["ciphertext"] as? String)
        }
        try await harness.set("initech", state: .suspended)
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let unknown = try await client.post("/v1/tenants/nobody/encrypt", json: body)
            #expect(unknown.status == .notFound)
            #expect(unknown.problemCode == "tenant-unknown")
            #expect(try await client.get("/v1/tenants/nobody").problemCode == "tenant-unknown")
            let suspended = try await client.post("/v1/tenants/initech/encrypt", json: body)
            #expect(suspended.status == .forbidden)
            #expect(suspended.problemCode == "tenant-suspended")
            let suspendedDecrypt = try await client.post("/v1/tenants/initech/decrypt", json: #"{"ciphertext": "\#(message)"}"#)
            #expect(suspendedDecrypt.problemCode == "tenant-suspended")
            let problem = try suspended.object
            #expect(problem["status"] as? Int == 403)
            #expect(problem["type"] as? String == "urn:cmkctl:problem:tenant-suspended")
            #expect((problem["title"] as? String)?.isEmpty == false)
            #expect((problem["detail"] as? String)?.contains("initech") == true)
        }
    }

    @Test func aMessageOfAnotherTenantIsRefusedWithoutSayingWhose() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.add("globex", tag: "globex")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let json = try await client.post("/v1/tenants/acme/encrypt", json: #"{"plaintext": "\#(base64(Self.plaintext))"}"#)
            let ciphertext = try #require(try json.object["ciphertext"] as? String)
            let crossJSON = try await client.post("/v1/tenants/globex/decrypt", json: #"{"ciphertext": "\#(ciphertext)"}"#)
            #expect(crossJSON.status == .unprocessableContent)
            #expect(crossJSON.problemCode == "decrypt-failed")
            #expect(!crossJSON.text.contains("acme"))
            let crossStream = try await client.post("/v1/tenants/globex/decrypt", bytes: try #require(unbase64(ciphertext)))
            #expect(crossStream.status == .unprocessableContent)
            #expect(crossStream.problemCode == "decrypt-failed")
            let garbage = try await client.post("/v1/tenants/acme/decrypt", bytes: Array(repeating: 7, count: 300))
            #expect(garbage.problemCode == "decrypt-failed")
            let empty = try await client.post("/v1/tenants/acme/decrypt", bytes: [])
            #expect(empty.problemCode == "decrypt-failed")
        }
    }

    @Test func malformedRequestsAreInvalidRequest() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            for body in ["not json", "{}", #"{"plaintext": 5}"#, #"{"plaintext": "***"}"#,
                         #"{"plaintext": "AAAA", "context": {"cmk-tenant": "acme-123"}}"#,
                         #"{"plaintext": "AAAA", "context": {"aws-crypto-public-key": "x"}}"#] {
                let refused = try await client.post("/v1/tenants/acme/encrypt", json: body)
                #expect(refused.status == .badRequest, "\(body)")
                #expect(refused.problemCode == "invalid-request", "\(body)")
            }
            let noRoute = try await client.get("/v1/nothing-here")
            #expect(noRoute.status == .notFound)
            #expect(noRoute.problemCode == "not-found")
        }
    }

    @Test func aJSONBodyOverTheLimitIs413AndAStreamIsNot() async throws {
        let harness = try await ServerHarness(maxBodyBytes: 4096)
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let large = Array(repeating: UInt8(0x61), count: 8192)
            let refused = try await client.post("/v1/tenants/acme/encrypt", json: #"{"plaintext": "\#(base64(large))"}"#)
            #expect(refused.status == .contentTooLarge)
            #expect(refused.problemCode == "payload-too-large")
            let batch = try await client.post("/v1/tenants/acme/batch/encrypt", json: #"{"items": {"a": {"plaintext": "\#(base64(large))"}}}"#)
            #expect(batch.problemCode == "payload-too-large")
            let streamed = try await client.post("/v1/tenants/acme/encrypt", bytes: large)
            #expect(streamed.status == .ok)
        }
    }

    @Test func kmsFailuresMapByTheirClass() async throws {
        let transient = try await ServerHarness()
        defer { transient.remove() }
        try await transient.add("hooli", tag: "hooli", onAWS: true)
        try await transient.withClient { (client: any TestClientProtocol) async throws in
            let refused = try await client.post("/v1/tenants/hooli/encrypt", json: #"{"plaintext": "AAAA"}"#)
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.problemCode == "kms-unavailable")
            #expect(refused.headers[.retryAfter] == String(Problem.retryAfterSeconds))
        }
        let misconfigured = try await ServerHarness(awsFailure: KMSError(.misconfigured, "secret-internal-detail arn:aws:kms:us-east-1:111122223333:key/x"))
        defer { misconfigured.remove() }
        try await misconfigured.add("hooli", tag: "hooli", onAWS: true)
        try await misconfigured.withClient { (client: any TestClientProtocol) async throws in
            let failed = try await client.post("/v1/tenants/hooli/encrypt", json: #"{"plaintext": "AAAA"}"#)
            #expect(failed.status == .internalServerError)
            #expect(failed.problemCode == "internal")
            #expect(!failed.text.contains("secret-internal-detail"))
        }
    }

    @Test func batchesReportEachItem() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.add("acme", tag: "acmeprod")
        try await harness.add("globex", tag: "globex")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let encrypted = try await client.post("/v1/tenants/acme/batch/encrypt", json: """
                {"items": {"one": {"plaintext": "\(base64(Self.plaintext))", "context": {"row": "1"}},
                           "two": {"plaintext": "\(base64([1, 2, 3]))"},
                           "bad": {"plaintext": "***"},
                           "reserved": {"plaintext": "AAAA", "context": {"cmk-tenant": "x"}}}}
                """)
            #expect(encrypted.status == .ok)
            let results = try #require(try encrypted.object["results"] as? [String: [String: Any]])
            let failures = try #require(try encrypted.object["failures"] as? [String: [String: Any]])
            #expect(Set(results.keys) == ["one", "two"])
            #expect(Set(failures.keys) == ["bad", "reserved"])
            #expect(failures["bad"]?["code"] as? String == "invalid-request")
            #expect(failures["reserved"]?["code"] as? String == "invalid-request")
            let one = try #require(results["one"]?["ciphertext"] as? String)
            let two = try #require(results["two"]?["ciphertext"] as? String)
            let globexMessage = try #require(try await client.post("/v1/tenants/globex/encrypt", json: #"{"plaintext": "AAAA"}"#).object["ciphertext"] as? String)

            let decrypted = try await client.post("/v1/tenants/acme/batch/decrypt", json: """
                {"items": {"one": {"ciphertext": "\(one)", "context": {"row": "1"}}, "two": {"ciphertext": "\(two)"},
                           "wrong-row": {"ciphertext": "\(one)", "context": {"row": "2"}}, "globex": {"ciphertext": "\(globexMessage)"}}}
                """)
            let plain = try #require(try decrypted.object["results"] as? [String: [String: Any]])
            let refused = try #require(try decrypted.object["failures"] as? [String: [String: Any]])
            #expect(unbase64(plain["one"]?["plaintext"]) == Self.plaintext)
            #expect(unbase64(plain["two"]?["plaintext"]) == [1, 2, 3])
            #expect(Set(refused.keys) == ["wrong-row", "globex"])
            #expect(refused.values.allSatisfy { $0["code"] as? String == "decrypt-failed" })

            // A tenant-level refusal fails the whole batch.
            let unknown = try await client.post("/v1/tenants/nobody/batch/decrypt", json: #"{"items": {"one": {"ciphertext": "\#(one)"}}}"#)
            #expect(unknown.problemCode == "tenant-unknown")
        }
    }

    @Test func rewrapKeepsTheContextAndDescribeShowsNoKeys() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        let record = try await harness.add("acme", tag: "acmeprod")
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let encrypted = try await client.post("/v1/tenants/acme/encrypt",
                                                  json: #"{"plaintext": "\#(base64(Self.plaintext))", "context": {"purpose": "report"}}"#)
            let ciphertext = try #require(try encrypted.object["ciphertext"] as? String)
            let rewrapped = try await client.post("/v1/tenants/acme/rewrap", json: #"{"ciphertext": "\#(ciphertext)"}"#)
            #expect(rewrapped.status == .ok)
            let fresh = try #require(try rewrapped.object["ciphertext"] as? String)
            #expect(try rewrapped.object["generation"] as? Int == 0)
            #expect(fresh != ciphertext)
            let decrypted = try await client.post("/v1/tenants/acme/decrypt",
                                                  json: #"{"ciphertext": "\#(fresh)", "context": {"purpose": "report"}}"#)
            #expect(unbase64(try decrypted.object["plaintext"]) == Self.plaintext)

            let described = try await client.get("/v1/tenants/acme")
            #expect(described.status == .ok)
            let object = try described.object
            #expect(object["tenant"] as? String == "acme")
            #expect(object["state"] as? String == "registered")
            #expect(object["generation"] as? Int == 0)
            #expect(object["contextIdentifier"] as? String == record.contextIdentifier)
            #expect(object["regions"] as? [String] == ["local"])
            #expect(Set(object.keys) == ["tenant", "state", "generation", "contextIdentifier", "regions"])
        }
    }
}
