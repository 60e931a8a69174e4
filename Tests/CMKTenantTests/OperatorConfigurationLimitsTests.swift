import CMKTenant
import Foundation
import Testing

/// The operator configuration is checked whole when it is loaded, naming the field and the form it
/// should have; tenant ids, operator names and key policies are bounded where they enter.
@Suite struct OperatorConfigurationLimitsTests {
    /// Writes `json` to a fresh file and loads it.
    func load(_ json: String) throws -> OperatorConfiguration {
        let directory = NSTemporaryDirectory() + "cmktenant-limits-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/operator.json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return try OperatorConfiguration.load(path: path)
    }

    @Test func aCompleteConfigurationWithinTheRulesLoads() throws {
        let configuration = try load("""
            {"servicePrincipal": "arn:aws:iam::111122223333:role/saas", "contextKey": "tenant-id",
             "providerKey": "arn:aws:kms:us-east-1:111122223333:alias/provider", "vpcEndpointIds": ["vpce-0a1b2c3d"],
             "tenants": ["acme", "globex.eu"], "recheckInitialSeconds": 1, "recheckMaxSeconds": 2592000,
             "kmsEndpoints": {"us-east-1": "http://127.0.0.1:5000", "eu-west-1": "https://kms.eu-west-1.amazonaws.com"},
             "localKms": "data/local-kms.json"}
            """)
        #expect(configuration.tenants == ["acme", "globex.eu"])
        #expect(configuration.recheckDelay(round: 40) == 2_592_000)
        #expect(try load(#"{"providerKey": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}"#)
            .providerKey.hasSuffix("1234567890ab"))
    }

    @Test(arguments: [
        (#"{"recheckInitialSeconds": 1e-9}"#, "recheckInitialSeconds must be a number of seconds from 1 to 2592000"),
        (#"{"recheckInitialSeconds": 0}"#, "recheckInitialSeconds"),
        (#"{"recheckInitialSeconds": -5}"#, "recheckInitialSeconds"),
        (#"{"recheckInitialSeconds": 1e300}"#, "recheckInitialSeconds"),
        (#"{"recheckInitialSeconds": 60, "recheckMaxSeconds": 30}"#, "recheckMaxSeconds must be a number of seconds from recheckInitialSeconds"),
        (#"{"recheckMaxSeconds": 3e6}"#, "recheckMaxSeconds"),
        (#"{"recheckMaxSeconds": "6h"}"#, "recheckMaxSeconds must be a number"),
        (#"{"providerKey": "not-an-arn"}"#, "providerKey: \"not-an-arn\" is not a KMS key ARN"),
        (#"{"providerKey": "arn:aws:kms:us-east-1:111122223333:key/"}"#, "providerKey"),
        (#"{"providerKey": "arn:aws:s3:us-east-1:111122223333:key/x"}"#, "providerKey"),
        (#"{"kmsEndpoints": {"us-east-1": "not a url"}}"#, "kmsEndpoints.us-east-1 must be an http:// or https:// URL with a host"),
        (#"{"kmsEndpoints": {"us-east-1": "ftp://example.com"}}"#, "kmsEndpoints.us-east-1"),
        (#"{"kmsEndpoints": {"us-east-1": "http://"}}"#, "kmsEndpoints.us-east-1"),
        (#"{"kmsEndpoints": {"US East": "http://127.0.0.1:5000"}}"#, "the kmsEndpoints region \"US East\" is not a region name"),
        (#"{"contextKey": "a\u0000b"}"#, "contextKey must be 1 to 256 bytes of UTF-8 text without control characters"),
        (#"{"contextKey": "a\nb"}"#, "contextKey"),
        (#"{"contextKey": ""}"#, "contextKey"),
        (#"{"contextKey": "aws-tenant"}"#, "contextKey must be a key that does not start with \"aws\""),
        (#"{"tenants": ["acme", ".."]}"#, "tenants[1]"),
        (#"{"tenants": ["."]}"#, "tenants[0]"),
        (#"{"tenants": ["a/b"]}"#, "tenants[0]"),
        (#"{"vpcEndpointIds": ["endpoint-1"]}"#, "vpcEndpointIds[0] must be a VPC endpoint id"),
        (#"{"servicePrincipal": "arn:aws:iam::1:role/a\u0007"}"#, "servicePrincipal"),
        (#"{"localKms": ""}"#, "localKms"),
        (#"{"schedules": {"backupSeconds": 60}}"#, "schedules.backupSeconds must be a number of seconds from 3600 to 2592000"),
        (#"{"backupDirectory": "a\u0000b"}"#, "backupDirectory must be a directory path without control characters"),
        (#"{"tenants": "acme"}"#, "tenants must be a list of strings"),
        (#"[1, 2]"#, "not a JSON object"),
    ])
    func aWrongFieldIsNamedWithItsExpectedForm(json: String, message: String) {
        let error = #expect(throws: TenantError.self) { try load(json) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("Swift.") == false)
    }

    /// Like the data sources' paths, the backup directory is relative to the configuration file; a file
    /// that does not set it gets `backups` beside it, and the backup schedule defaults to a day.
    @Test func theBackupDirectoryIsRelativeToTheConfigurationFile() throws {
        let directory = NSTemporaryDirectory() + "cmktenant-backups-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/operator.json"
        let folder = URL(fileURLWithPath: directory).standardizedFileURL.path
        for (json, expected) in [(#"{}"#, folder + "/backups"), (#"{"backupDirectory": "../keep"}"#, folder + "/../keep"),
                                 (#"{"backupDirectory": "/var/backups/cmk"}"#, "/var/backups/cmk")] {
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            let configuration = try OperatorConfiguration.load(path: path)
            #expect(configuration.backupDirectory == expected)
            #expect(configuration.schedules.backupSeconds == 86_400)
        }
        try Data(#"{"schedules": {"backupSeconds": 7200}}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try OperatorConfiguration.load(path: path).schedules.backupSeconds == 7200)
        #expect(try OperatorConfiguration.load(path: directory + "/missing.json").backupDirectory == ".cmkctl/backups")
    }

    @Test func controlCharactersInAValueAreEscapedInTheMessage() {
        let error = #expect(throws: TenantError.self) { try load(#"{"providerKey": "x\u001b[31mred"}"#) }
        #expect(error?.message.contains("\u{1b}") == false)
        #expect(error?.message.lowercased().contains(#"x\u{1b}[31mred"#) == true, "\(error?.message ?? "")")
    }

    @Test func anOversizedFileIsRefusedWithoutParsingIt() {
        let padding = String(repeating: " ", count: OperatorConfiguration.maxFileBytes)
        let error = #expect(throws: TenantError.self) { try load("{" + padding + "}") }
        #expect(error?.message.contains("larger than 1048576 bytes") == true)
    }

    // MARK: input bounds

    static let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    func request(tenant: String = "acme", operatorName: String = "alice") throws -> EnrollmentRequest {
        try EnrollmentRequest(ticket: "SUP-1", tenant: tenant, keys: [Self.key], tag: "acme", operatorName: operatorName,
                              configuration: OperatorConfiguration())
    }

    @Test(arguments: [".", "..", ".hidden", "_x", "a/b", "a\u{0}b", "a\u{7f}"])
    func tenantIdsThatReadAsPathsOrHoldControlsAreRefused(tenant: String) {
        let error = #expect(throws: TenantError.self) { try request(tenant: tenant) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("tenant id") == true)
        #expect(error?.message.contains("\u{0}") == false)
    }

    @Test func operatorNamesAreBoundedAt256Bytes() throws {
        #expect(try request(operatorName: String(repeating: "o", count: 256)).operatorName.utf8.count == 256)
        let error = #expect(throws: TenantError.self) { try request(operatorName: String(repeating: "é", count: 129)) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("258 bytes; the limit is 256 bytes") == true)
    }

    @Test func policiesOverThirtyTwoKilobytesAreRefusedBeforeParsing() throws {
        let analyzer = PolicyAnalyzer(requirements: PolicyRequirements(servicePrincipal: "arn:aws:iam::111122223333:role/saas",
                                                                       contextValue: "acmeprod-7f3k2q"))
        let policy = #"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#
        let fits = policy + String(repeating: " ", count: 32_768 - policy.utf8.count)
        _ = try analyzer.analyze(policy: fits)
        let error = #expect(throws: TenantError.self) { try analyzer.analyze(policy: fits + " ") }
        #expect(error?.code == .malformedPolicy)
        #expect(error?.message.contains("32769 bytes; key policies are limited to 32768 bytes") == true)
    }
}
