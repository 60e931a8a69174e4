import CMKTenant
import Foundation
import Testing

/// KMS event documents in the shapes the AWS documentation gives, read strictly: what each can mean,
/// which keys it names (ARNs, bare ids in the event's account and region, aliases left unmapped).
@Suite struct KMSEventTests {
    static let directory = URL(fileURLWithPath: TenantHarness.packageRoot + "/fixtures/kms-events")
    static let westKey = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let eastKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    func event(_ name: String) throws -> KMSEvent {
        try KMSEvent(parsing: Array(try Data(contentsOf: Self.directory.appendingPathComponent(name))))
    }

    @Test(arguments: [
        ("cmk-deletion.json", "KMS CMK Deletion", KMSEvent.Relevance.mayRevoke, westKey),
        ("imported-material-expiration.json", "KMS Imported Key Material Expiration", .mayRevoke, westKey),
        ("cloudtrail-disable-key.json", "DisableKey", .mayRevoke, eastKey),
        ("cloudtrail-schedule-key-deletion.json", "ScheduleKeyDeletion", .mayRevoke, eastKey),
        ("cloudtrail-delete-key-service-event.json", "DeleteKey", .mayRevoke, eastKey),
        ("cloudtrail-enable-key.json", "EnableKey", .mayRestore, eastKey),
    ])
    func eventsThatCallForAProbeNameTheirKey(file: String, summary: String, relevance: KMSEvent.Relevance, key: String) throws {
        let event = try event(file)
        #expect(event.summary == summary)
        #expect(event.relevance == relevance && event.relevance.callsForProbe)
        #expect(event.keys.map(\.description) == [key])
        #expect(event.names(key))
        #expect(!event.names(key.replacingOccurrences(of: "111122223333", with: "444455556666")))
        #expect(event.time != nil && event.account == "111122223333")
    }

    @Test func eventsThatCannotRevokeAreIgnoredWithAReason() throws {
        let rotation = try event("cmk-rotation.json")
        #expect(!rotation.relevance.callsForProbe)
        let failed = try event("cloudtrail-disable-key-failed.json")
        #expect(failed.relevance == .ignored("the call failed (AccessDeniedException) and changed nothing"))
        // A policy change named by alias: it may revoke, but the alias cannot be mapped to a key.
        let alias = try event("cloudtrail-put-key-policy-alias.json")
        #expect(alias.relevance == .mayRevoke && alias.keys.isEmpty && alias.unmapped == ["alias/acme-root"])
    }

    @Test(arguments: [
        ("not json", "not JSON"),
        (#"{"id": "x"}"#, "detail-type"),
        (#"{"id": "x", "detail-type": "KMS CMK Deletion", "source": "aws.kms", "account": "1", "region": "r"}"#, "detail object"),
        (#"[1, 2]"#, "no id"),
    ])
    func malformedEventsAreRefusedNamingTheProblem(body: String, problem: String) {
        let error = #expect(throws: TenantError.self) { try KMSEvent(parsing: Array(body.utf8)) }
        #expect(error?.code == .invalidInput && error?.message.contains(problem) == true, "\(error?.message ?? "")")
    }

    @Test func anOversizedBodyIsRefusedBeforeParsing() {
        let error = #expect(throws: TenantError.self) { try KMSEvent(parsing: [UInt8](repeating: 0x20, count: KMSEvent.maximumSize + 1)) }
        #expect(error?.message.contains("larger than") == true)
    }

    /// A forged key reference (a host in the region, a path in the id) never becomes a key.
    @Test func forgedKeyReferencesAreLeftUnmapped() throws {
        let body = #"{"id":"e","detail-type":"KMS CMK Deletion","source":"aws.kms","account":"111122223333","region":"x@evil.example#","resources":["arn:aws:kms:us-east-1@evil:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"],"detail":{"key-id":"../../1234"}}"#
        let event = try KMSEvent(parsing: Array(body.utf8))
        #expect(event.keys.isEmpty && event.unmapped.count == 2)
    }
}
