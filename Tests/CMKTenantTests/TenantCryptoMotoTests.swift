import AsyncHTTPClient
import CMKEnvelope
import CMKKMS
import CMKTenant
import CMKTesting
import Foundation
import Testing

/// Tenant encrypt and decrypt against moto's KMS over HTTP, signed by the service user with IAM
/// checks on, in two regions; the AWS Encryption SDK for Python reads what `TenantCrypto` wrote and
/// the reverse.
@Suite(.serialized) struct TenantCryptoMotoTests {
    static let plaintext = Array("tenant data under the customer's keys in two regions".utf8)

    @Test func twoRegionsUnderIAMAndThePythonSDKInBothDirections() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await EnrollmentMotoTests().harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let (east, west, identifier) = try await Self.enrollAcmeInTwoRegions(harness, moto: moto, http: http, principal: principal,
                                                                                credentials: credentials)

            var configuration = TenantCryptoConfiguration()
            configuration.multiRegion.minimumRegions = 2
            let crypto = try harness.crypto(configuration: configuration)
            let purpose = try EncryptionContext([("purpose", "report")])
            let encrypted = try await crypto.encrypt("acme", Self.plaintext, purpose)
            #expect(encrypted.generation == 1)
            #expect(try await crypto.decrypt("acme", encrypted.ciphertext, purpose).plaintext == Self.plaintext)
            // One wrap per region, one unwrap: every call signed and checked by moto's IAM.
            #expect(await crypto.metrics().kmsCalls == 3)

            // Python reads it with the eu-west-1 key alone, as the service user.
            let directory = NSTemporaryDirectory() + "cmktenant-interop-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try Data(encrypted.ciphertext).write(to: URL(fileURLWithPath: directory + "/tenant.msg"))
            let printed = try Self.peer(["decrypt", west.arn, directory + "/tenant.msg", directory + "/tenant.out"],
                                        moto: moto, credentials: credentials)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/tenant.out"))) == Self.plaintext)
            #expect(printed.split(separator: "\n").contains("cmk-tenant=\(identifier)"))
            #expect(printed.split(separator: "\n").contains("purpose=report"))

            // Python writes with the tenant's context under us-east-1; the tenant's decrypt reads it.
            try Data(Self.plaintext).write(to: URL(fileURLWithPath: directory + "/plain"))
            _ = try Self.peer(["encrypt", east.arn, directory + "/plain", directory + "/python.msg", "cmk-tenant=\(identifier)", "purpose=report"],
                              moto: moto, credentials: credentials)
            let fromPython = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/python.msg")))
            let decrypted = try await crypto.decrypt("acme", fromPython, purpose)
            #expect(decrypted.plaintext == Self.plaintext && decrypted.generation == 1)

            // Python writing under acme's key with another tenant's identifier: refused like a damaged message.
            _ = try Self.peer(["encrypt", east.arn, directory + "/plain", directory + "/other.msg", "cmk-tenant=globex-000000"],
                              moto: moto, credentials: credentials)
            let other = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/other.msg")))
            let refused = await #expect(throws: TenantError.self) { try await crypto.decrypt("acme", other, .empty) }
            #expect(refused == TenantError.decryptFailed)
        }
    }

    /// The same through a real `cmkctl serve` process signing for the service user: Python reads what
    /// the sidecar wrote (with the eu-west-1 key alone) and the sidecar reads what Python wrote.
    @Test func theSidecarAndThePythonSDKReadEachOther() async throws {
        try await MotoSupport.withMoto { moto, http, principal, credentials in
            let harness = try await EnrollmentMotoTests().harness(moto, http, principal: principal, credentials: credentials)
            defer { harness.remove() }
            let (east, west, identifier) = try await Self.enrollAcmeInTwoRegions(harness, moto: moto, http: http, principal: principal,
                                                                                credentials: credentials)

            // The sidecar: the harness's store and configuration, the service user's credentials.
            let directory = harness.directory
            let encoder = JSONEncoder()
            try encoder.encode(harness.configuration).write(to: URL(fileURLWithPath: directory + "/operator.json"))
            let token = "moto-sidecar-token-0123456789"
            try Data("\(token)\n".utf8).write(to: URL(fileURLWithPath: directory + "/tokens"))
            var environment = ProcessInfo.processInfo.environment
            environment["AWS_ACCESS_KEY_ID"] = credentials.accessKeyID
            environment["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
            environment.removeValue(forKey: "AWS_PROFILE")
            environment.removeValue(forKey: "AWS_SESSION_TOKEN")
            let log = directory + "/serve.log"
            let pid = try ChildProcess.spawn(CLIRunner.binary, arguments: [
                "serve", "--listen", "127.0.0.1:0", "--token-file", directory + "/tokens", "--store", harness.fresh.location,
                "--config", directory + "/operator.json", "--min-regions", "2",
            ], environment: environment, outputPath: log)
            defer { ChildProcess.stop(pid) }
            var url: String?
            for _ in 0..<1200 where url == nil {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cmkctl serve: main listening on http://") }),
                   let port = line.split(separator: ":").last {
                    url = "http://127.0.0.1:\(port)"
                } else {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let base = try #require(url, "cmkctl serve did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            func post(_ route: String, _ body: String) async throws -> [String: Any] {
                var request = HTTPClientRequest(url: base + route)
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(Array(body.utf8))
                let response = try await http.execute(request, timeout: .seconds(60))
                let bytes = try await response.body.collect(upTo: 1 << 20)
                let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any] ?? [:]
                #expect(response.status.code == 200, "\(route): \(object)")
                return object
            }

            let written = try await post("/v1/tenants/acme/encrypt",
                                         #"{"plaintext": "\#(Data(Self.plaintext).base64EncodedString())", "context": {"purpose": "report"}}"#)
            #expect(written["generation"] as? Int == 1)
            let ciphertext = try #require(written["ciphertext"] as? String)
            try Data(base64Encoded: ciphertext)!.write(to: URL(fileURLWithPath: directory + "/sidecar.msg"))
            let printed = try Self.peer(["decrypt", west.arn, directory + "/sidecar.msg", directory + "/sidecar.out"], moto: moto,
                                        credentials: credentials)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/sidecar.out"))) == Self.plaintext)
            #expect(printed.split(separator: "\n").contains("cmk-tenant=\(identifier)"))

            try Data(Self.plaintext).write(to: URL(fileURLWithPath: directory + "/plain"))
            _ = try Self.peer(["encrypt", east.arn, directory + "/plain", directory + "/python.msg", "cmk-tenant=\(identifier)", "purpose=report"],
                              moto: moto, credentials: credentials)
            let fromPython = try Data(contentsOf: URL(fileURLWithPath: directory + "/python.msg")).base64EncodedString()
            let read = try await post("/v1/tenants/acme/decrypt", #"{"ciphertext": "\#(fromPython)", "context": {"purpose": "report"}}"#)
            #expect(Data(base64Encoded: read["plaintext"] as? String ?? "") == Data(Self.plaintext))
            kill(pid, SIGTERM)
        }
    }

    /// acme enrolled on a key in us-east-1 and one in eu-west-1 (moto serves both regions), with a policy
    /// that lets the service user use them; returns the keys and acme's context identifier.
    static func enrollAcmeInTwoRegions(_ harness: TenantHarness, moto: MotoServer, http: HTTPClient, principal: String,
                                       credentials: AWSCredentials) async throws -> (east: KeyMetadata, west: KeyMetadata, identifier: String) {
        let policy = EnrollmentMotoTests.policy(principal: principal, cryptoActions: EnrollmentMotoTests.allCrypto)
        let east = try await harness.kms.client(forKey: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000")
            .createKey(description: "acme us-east-1", policy: policy)
        let westClient = AWSKMSClient(httpClient: http, credentials: credentials,
                                      configuration: .init(defaultRegion: "eu-west-1", endpoints: ["eu-west-1": moto.url]))
        let west = try await westClient.createKey(description: "acme eu-west-1", policy: policy)
        #expect(try await harness.enroll("acme", keys: [east.arn, west.arn], tag: "acmeprod").state == "active")
        return (east, west, try await harness.contextIdentifier("acme"))
    }

    /// Runs a Python peer of Tests/Peers (kms_peer.py by default) as the service user, with botocore pointed at moto.
    static func peer(_ arguments: [String], moto: MotoServer, credentials: AWSCredentials, script: String = "kms_peer.py") throws -> String {
        let process = Process()
        let python = ProcessInfo.processInfo.environment["CMK_PEER_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
            ?? TenantHarness.packageRoot + "/.venv/bin/python"
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TenantHarness.packageRoot + "/Tests/Peers/" + script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ENDPOINT_URL_KMS"] = moto.url
        environment["AWS_ACCESS_KEY_ID"] = credentials.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment.removeValue(forKey: "AWS_PROFILE")
        environment.removeValue(forKey: "AWS_SESSION_TOKEN")
        process.environment = environment
        // stderr to a file: the SDK's warnings would fill a second pipe while this reads the first.
        let errorPath = NSTemporaryDirectory() + "python-peer-\(UUID().uuidString).err"
        FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = (try? Data(contentsOf: URL(fileURLWithPath: errorPath))) ?? Data()
        guard process.terminationStatus == 0 else {
            throw KMSError(.invalidRequest, "\(script) \(arguments.first ?? "") failed: \(String(decoding: errors, as: UTF8.self).suffix(1500))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
