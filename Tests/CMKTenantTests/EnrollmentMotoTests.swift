import AsyncHTTPClient
import CMKKMS
import CMKTenant
import CMKTesting
import CMKWorkflow
import Foundation
import Testing

/// Enrollment against moto's KMS over HTTP with SigV4 and IAM checks on: the service user's signed calls.
@Suite(.serialized) struct EnrollmentMotoTests {
    /// The customer's policy: our principal may use the key for contexts of its tag, and read its metadata.
    static func policy(principal: String, cryptoActions: [String]) -> String {
        let actions = cryptoActions.map { "\"\($0)\"" }.joined(separator: ",")
        return """
            {"Version":"2012-10-17","Id":"tenant-key","Statement":[
              {"Sid":"TenantAdmins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"kms:*","Resource":"*"},
              {"Sid":"SaaSUse","Effect":"Allow","Principal":{"AWS":"\(principal)"},"Action":[\(actions)],"Resource":"*",
               "Condition":{"StringLike":{"kms:EncryptionContext:cmk-tenant":"acmeprod-*"}}},
              {"Sid":"SaaSRead","Effect":"Allow","Principal":{"AWS":["\(principal)"]},"Action":["kms:DescribeKey","kms:GetKeyPolicy"],"Resource":"*"}
            ]}
            """
    }

    static let allCrypto = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"]

    func harness(_ moto: MotoServer, _ http: HTTPClient, principal: String, credentials: AWSCredentials) async throws -> TenantHarness {
        let endpoints = ["us-east-1": moto.url, "eu-west-1": moto.url]
        return try await TenantHarness(
            configuration: OperatorConfiguration(servicePrincipal: principal, kmsEndpoints: endpoints),
            aws: { AWSKMSClient(httpClient: http, credentials: credentials, configuration: .init(endpoints: endpoints, requestTimeout: .seconds(5))) })
    }

    @Test func cleanEnrollmentInTwoRegions() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let east = try await harness.kms.client(forKey: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
                .createKey(description: "acme us-east-1", policy: Self.policy(principal: principal, cryptoActions: Self.allCrypto))
            // moto serves every region from one endpoint; the second key's ARN names eu-west-1 through the region header.
            let westClient = AWSKMSClient(httpClient: http, credentials: credentials,
                                          configuration: .init(defaultRegion: "eu-west-1", endpoints: ["eu-west-1": moto.url]))
            let west = try await westClient.createKey(description: "acme eu-west-1", policy: Self.policy(principal: principal, cryptoActions: Self.allCrypto))
            #expect(try KeyARN(validating: west.arn).region == "eu-west-1")

            try await harness.service.enroll(try harness.request(ticket: "SUP-100", tenant: "acme", keys: [east.arn, west.arn], tag: "acmeprod"))
            let status = try await harness.drive("acme")
            #expect(status.state == "active", "\(status)")
            #expect(Set(status.regions) == ["us-east-1", "eu-west-1"])
            let calls = try await harness.store.auditEntries(tenant: "acme").filter { $0.kind == .kmsCall }
            #expect(Set(calls.compactMap { $0.detail["region"] }) == ["us-east-1", "eu-west-1"])
            #expect(calls.filter { $0.action == "GetKeyPolicy" }.count == 2)
            #expect(try await harness.store.verifyAudit().isIntact)
        }
    }

    @Test func missingPermissionParksUntilThePolicyIsFixedAndASignalArrives() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let client = try harness.kms.client(forKey: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
            let withoutDecrypt = Self.allCrypto.filter { $0 != "kms:Decrypt" }
            let key = try await client.createKey(description: "acme", policy: Self.policy(principal: principal, cryptoActions: withoutDecrypt))

            let started = try await harness.service.enroll(try harness.request(ticket: "SUP-101", tenant: "acme", keys: [key.arn], tag: "acmeprod"))
            let waiting = try await harness.drive("acme")
            #expect(waiting.state == "awaiting-customer")
            #expect(waiting.waitingFor?.contains("fix the key policy of \(key.arn)") == true)
            #expect(waiting.waitingFor?.contains("kms:Decrypt") == true)
            let checks = try await harness.store.policyChecks(of: "acme")
            #expect(checks.count == 1 && checks[0].blocking)
            // The probe never ran: the policy step stopped first.
            #expect(try await harness.store.auditEntries(tenant: "acme").filter { $0.action == "GenerateDataKey" }.isEmpty)

            try await client.putKeyPolicy(keyID: key.keyID, policy: Self.policy(principal: principal, cryptoActions: Self.allCrypto))
            _ = try await harness.journal.signal(execution: started.execution, payload: ["fixed": true], now: Date())
            let active = try await harness.drive("acme")
            #expect(active.state == "active")
            #expect(try await harness.store.policyChecks(of: "acme").allSatisfy { !$0.blocking })
        }
    }

    @Test func disabledKeyFailsTheProbeWithAClearStatus() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let client = try harness.kms.client(forKey: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
            let key = try await client.createKey(description: "acme", policy: Self.policy(principal: principal, cryptoActions: Self.allCrypto))
            try await client.disableKey(keyID: key.keyID) // moto finds DisableKey targets by key id only
            try await harness.service.enroll(try harness.request(ticket: "SUP-102", tenant: "acme", keys: [key.arn], tag: "acmeprod"))
            let status = try await harness.drive("acme")
            #expect(status.state == "awaiting-customer")
            #expect(status.waitingFor?.contains("failed the probe (disabled") == true)
            #expect(status.generation == 0)
        }
    }

    @Test func duplicateConflictingAndSameTagEnrollments() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let client = try harness.kms.client(forKey: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
            let acmeKey = try await client.createKey(description: "acme", policy: Self.policy(principal: principal, cryptoActions: Self.allCrypto))
            let otherKey = try await client.createKey(description: "acme2", policy: Self.policy(principal: principal, cryptoActions: Self.allCrypto))
            let request = try harness.request(ticket: "SUP-104", tenant: "acme", keys: [acmeKey.arn], tag: "acmeprod")
            #expect(try await harness.service.enroll(request).created)
            #expect(try await harness.service.enroll(request).created == false)
            let conflict = await #expect(throws: TenantError.self) {
                try await harness.service.enroll(try harness.request(ticket: "SUP-105", tenant: "acme", keys: [acmeKey.arn], tag: "acmeprod"))
            }
            #expect(conflict?.code == .conflict)
            // Another tenant asks for the same tag (its policy names the same "acmeprod-*" prefix).
            try await harness.service.enroll(try harness.request(ticket: "SUP-106", tenant: "acme2", keys: [otherKey.arn], tag: "acmeprod"))
            let first = try await harness.drive("acme")
            let second = try await harness.drive("acme2")
            #expect(first.state == "active" && second.state == "active")
            #expect(first.contextIdentifier != second.contextIdentifier)
            #expect([first, second].allSatisfy { $0.contextIdentifier?.hasPrefix("acmeprod-") == true })
            #expect(try await harness.journal.executions(status: nil).filter { $0.workflow == EnrollmentWorkflow.name }.count == 2)
        }
    }

    /// Our own credentials refused (a wrong secret) or missing: the operator's misconfiguration. The
    /// enrollment neither waits for the customer nor fails blaming their key; the step is retried
    /// as `KMS.Misconfigured` and the tenant stays where it was.
    @Test(arguments: ["refused", "missing"])
    func ourCredentialsRefusedOrMissingLeaveTheTenantAlone(problem: String) async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let forged = AWSCredentials(accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey + "x")
            let endpoints = ["us-east-1": moto.url]
            let good = AWSKMSClient(httpClient: http, credentials: credentials, configuration: .init(endpoints: endpoints))
            let key = try await good.createKey(description: "acme", policy: Self.policy(principal: principal, cryptoActions: Self.allCrypto))
            // No credentials anywhere: an empty environment and a home without ~/.aws.
            let emptyHome = NSTemporaryDirectory() + "cmktenant-nohome-" + UUID().uuidString
            let resolver = AWSCredentialsResolver(environment: ["HOME": emptyHome])
            let harness = try await TenantHarness(
                configuration: OperatorConfiguration(servicePrincipal: principal, kmsEndpoints: endpoints),
                aws: {
                    AWSKMSClient(httpClient: http, credentials: problem == "refused" ? forged : try resolver.require(),
                                 configuration: .init(endpoints: endpoints))
                })
            defer { harness.remove() }
            try await harness.service.enroll(try harness.request(ticket: "SUP-103", tenant: "acme", keys: [key.arn], tag: "acmeprod"))
            let status = try await harness.drive("acme")
            #expect(status.state == "assigning-context", "\(status)")
            #expect(status.waitingFor == nil)
            #expect(status.generation == 0)
            #expect(status.executionStatus == "running")
            let history = try await harness.overview.history(tenant: "acme")
            #expect(history.contains { $0.detail.contains("error KMS.Misconfigured") }, "\(history.map { "\($0.what) \($0.detail)" })")
            #expect(!history.contains { $0.what.contains("awaiting-customer") || $0.what.contains("enrollment-failed") })
            if problem == "refused" {
                let calls = try await harness.store.auditEntries(tenant: "acme").filter { $0.kind == .kmsCall }
                #expect(calls.map(\.action) == ["GetKeyPolicy"])
                #expect(calls.first?.detail["outcome"] == "misconfigured")
            }
        }
    }
}
