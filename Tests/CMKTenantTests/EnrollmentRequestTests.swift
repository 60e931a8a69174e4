import CMKKMS
import CMKTenant
import Foundation
import Testing

/// Input refused before anything is journaled, with a message that names the problem.
@Suite struct EnrollmentRequestTests {
    static let key1 = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let key2 = "arn:aws:kms:eu-west-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab"

    func request(ticket: String = "SUP-1", tenant: String = "acme", keys: [String] = [key1], tag: String = "acmeprod",
                 configuration: OperatorConfiguration = OperatorConfiguration()) throws -> EnrollmentRequest {
        try EnrollmentRequest(ticket: ticket, tenant: tenant, keys: keys, tag: tag, operatorName: "t", configuration: configuration)
    }

    @Test func aValidRequestKeepsOneKeyPerRegion() throws {
        let valid = try request(keys: [Self.key1, Self.key2])
        #expect(valid.keys.map(\.region) == ["us-east-1", "eu-west-1"])
        #expect(valid.tag.value == "acmeprod")
    }

    @Test(arguments: [
        ("not-an-arn", "is not a KMS key ARN"),
        ("arn:aws:s3:us-east-1:111122223333:key/x", "is not a KMS key ARN"),
        ("arn:aws:kms:us-east-1:111122223333:alias/acme", "alias ARN"),
        ("arn:aws:kms::111122223333:key/x", "is not a KMS key ARN"),
        ("arn:aws:kms:x@127.0.0.1#:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "the region"),
        ("arn:aws:kms:us-east-1:111122223333:key/../x", "the key id must be"),
        ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n", "the key id must be"),
    ])
    func malformedKeysAreRefused(key: String, message: String) throws {
        let error = #expect(throws: TenantError.self) { try request(keys: [key]) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(message) == true)
    }

    @Test func twoKeysInOneRegionAreRefused() {
        let other = "arn:aws:kms:us-east-1:111122223333:key/9999abcd-12ab-34cd-56ef-1234567890ab"
        let error = #expect(throws: TenantError.self) { try request(keys: [Self.key1, other]) }
        #expect(error?.message.contains("two keys in region us-east-1") == true)
        #expect(throws: TenantError.self) { try request(keys: []) }
    }

    @Test(arguments: ["", "thirteenchars", "acme-prod", "acme prod", "acmé", "acme_1", "ａｃｍｅ"])
    func tagsOutsideTheRulesAreRefused(tag: String) {
        let error = #expect(throws: TenantError.self) { try request(tag: tag) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("tag") == true)
    }

    @Test(arguments: ["a", "ABCdef123456", "007"])
    func tagsWithinTheRulesAreAccepted(tag: String) throws {
        #expect(try request(tag: tag).tag.value == tag)
    }

    @Test func ticketsAndTenantIdsAreChecked() {
        #expect(throws: TenantError.self) { try request(ticket: "") }
        #expect(throws: TenantError.self) { try request(ticket: "SUP 1") }
        #expect(throws: TenantError.self) { try request(tenant: "../etc") }
        #expect(throws: TenantError.self) { try request(tenant: String(repeating: "a", count: 65)) }
    }

    @Test func aTenantOutsideTheOperatorsListIsUnknown() throws {
        let configuration = OperatorConfiguration(tenants: ["acme"])
        #expect(try request(configuration: configuration).tenant == "acme")
        let error = #expect(throws: TenantError.self) { try request(tenant: "globex", configuration: configuration) }
        #expect(error?.code == .unknownTenant)
    }

    @Test func identifiersAreTheTagAndSixBase36Characters() {
        var generator = SystemRandomNumberGenerator()
        let tag = try! ContextTag("AcmeProd")
        let values = (0..<200).map { _ in ContextIdentifier.generate(tag: tag, using: &generator) }
        #expect(values.allSatisfy { $0.hasPrefix("acmeprod-") && $0.count == 15 })
        #expect(values.allSatisfy { $0.dropFirst(9).allSatisfy { $0.isASCII && ($0.isNumber || $0.isLowercase) } })
        #expect(Set(values).count > 195)
    }

    @Test func theOperatorConfigurationRefusesUnknownFieldsAndComputesBackoff() throws {
        let directory = NSTemporaryDirectory() + "cmktenant-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/operator.json"
        try Data(#"{"servicePrincipal":"arn:aws:iam::111122223333:role/saas","recheckInitialSeconds":30,"recheckMaxSeconds":100}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let configuration = try OperatorConfiguration.load(path: path)
        #expect(configuration.servicePrincipal == "arn:aws:iam::111122223333:role/saas")
        #expect(configuration.contextKey == "cmk-tenant")
        #expect((1...4).map(configuration.recheckDelay(round:)) == [30, 60, 100, 100])

        try Data(#"{"servicePrincipl":"x"}"#.utf8).write(to: URL(fileURLWithPath: path))
        let typo = #expect(throws: TenantError.self) { try OperatorConfiguration.load(path: path) }
        #expect(typo?.message.contains("servicePrincipl") == true)
        #expect(try OperatorConfiguration.load(path: directory + "/missing.json") == OperatorConfiguration())
    }

    @Test(arguments: ["alice\nbob", "a\u{1B}[32mactive", "tab\there", "del\u{7F}", "c1\u{9B}2J", "rtl\u{202E}"])
    func operatorNamesWithControlCharactersAreRefused(name: String) {
        let error = #expect(throws: TenantError.self) {
            try EnrollmentRequest(ticket: "SUP-1", tenant: "acme", keys: [Self.key1], tag: "acme", operatorName: name,
                                  configuration: OperatorConfiguration())
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("--operator") == true)
        #expect(error?.message.containsControlCharacters == false)
    }

    @Test(arguments: [
        (#"{"providerKey": "arn:aws:kms:x@127.0.0.1#:111122223333:alias/p"}"#, "providerKey"),
        (#"{"providerKey": "arn:aws:kms:us-east-1:111122223333:key/../x"}"#, "providerKey"),
        (#"{"kmsEndpoints": {"x@127.0.0.1#": "http://127.0.0.1:1"}}"#, "kmsEndpoints region"),
    ])
    func theOperatorConfigurationRefusesMalformedKeysAndRegions(json: String, field: String) throws {
        let directory = NSTemporaryDirectory() + "cmktenant-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/operator.json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: TenantError.self) { try OperatorConfiguration.load(path: path) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains(field) == true, "\(error?.message ?? "")")
        // The operator's own key may be named by an alias ARN.
        try Data(#"{"providerKey": "arn:aws:kms:us-east-1:111122223333:alias/provider"}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try OperatorConfiguration.load(path: path).providerKey.hasSuffix("alias/provider"))
    }
}
