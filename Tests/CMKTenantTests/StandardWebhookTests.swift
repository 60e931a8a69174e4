import CMKTenant
import Foundation
import Testing

/// The Standard Webhooks scheme against the specification's own test vector and the reference
/// libraries' cases: missing headers, a wrong signature, stale and future timestamps, several
/// signatures, several secrets, the `whsec_` prefix optional.
@Suite struct StandardWebhookTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let body = Array(#"{"test": 2432232314}"#.utf8)

    @Test func signsTheSpecificationsTestVector() throws {
        let webhook = try StandardWebhook(secrets: [Self.secret])
        #expect(webhook.signature(id: Self.id, timestamp: 1614265330, body: Self.body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let bare = try StandardWebhook(secrets: [String(Self.secret.dropFirst(6))])
        #expect(bare.signature(id: Self.id, timestamp: 1614265330, body: Self.body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func verifiesWhatItSignsAndRefusesEveryTamperedPart() throws {
        let webhook = try StandardWebhook(secrets: [Self.secret])
        let now = Date(timeIntervalSince1970: 1614265330)
        let good = webhook.signature(id: Self.id, timestamp: 1614265330, body: Self.body)
        func verify(id: String? = Self.id, timestamp: String? = "1614265330", signature: String?, body: [UInt8] = Self.body,
                    at: Date = now) -> StandardWebhook.Failure? {
            do { try webhook.verify(id: id, timestamp: timestamp, signature: signature, body: body, now: at); return nil } catch { return error }
        }
        #expect(verify(signature: good) == nil)
        #expect(verify(id: nil, signature: good) == .missingHeaders)
        #expect(verify(timestamp: nil, signature: good) == .missingHeaders)
        #expect(verify(signature: nil) == .missingHeaders)
        #expect(verify(signature: "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=") == .noMatchingSignature)
        #expect(verify(signature: good, body: Self.body + [0x20]) == .noMatchingSignature)
        #expect(verify(id: "msg_other", signature: good) == .noMatchingSignature)
        #expect(verify(timestamp: "1614265331", signature: good, at: now.addingTimeInterval(1)) == .noMatchingSignature)
        #expect(verify(timestamp: "16142653x0", signature: good) == .malformedTimestamp)
        #expect(verify(signature: good, at: now.addingTimeInterval(301)) == .staleTimestamp)
        #expect(verify(signature: good, at: now.addingTimeInterval(-301)) == .staleTimestamp)
        #expect(verify(signature: good, at: now.addingTimeInterval(299)) == nil)
        #expect(verify(signature: "v2," + good.dropFirst(3)) == .noMatchingSignature)
        let several = ["v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", good].joined(separator: " ")
        #expect(verify(signature: several) == nil)
    }

    @Test func aRotationAcceptsEitherSecret() throws {
        let next = StandardWebhook.generateSecret()
        #expect(next.hasPrefix("whsec_"))
        let sender = try StandardWebhook(secrets: [next])
        let receiver = try StandardWebhook(secrets: [Self.secret, next])
        let signature = sender.signature(id: "evt", timestamp: 1_700_000_000, body: Self.body)
        #expect(throws: Never.self) {
            try receiver.verify(id: "evt", timestamp: "1700000000", signature: signature, body: Self.body, now: Date(timeIntervalSince1970: 1_700_000_000))
        }
        #expect(throws: TenantError.self) { try StandardWebhook(secrets: ["whsec_not base64!"]) }
        #expect(throws: TenantError.self) { try StandardWebhook(secrets: []) }
    }
}
