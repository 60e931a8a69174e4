import CMKEnvelope
import CMKKMS
import CMKTesting
import Foundation
import Testing

/// Messages cross between cmkctl's KMS keyring and the AWS Encryption SDK for Python's KMS master
/// key provider, both talking to the same moto server, in both directions.
@Suite(.serialized) struct KMSInteropTests {
    static let plaintext = Array("tenant data under a customer-managed key \u{1F511}".utf8)

    /// Runs Tests/Peers/kms_peer.py with botocore pointed at moto through AWS_ENDPOINT_URL_KMS.
    static func peer(_ arguments: [String], moto: MotoServer) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.python)
        process.arguments = [TestSupport.packageRoot + "/Tests/Peers/kms_peer.py"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ENDPOINT_URL_KMS"] = moto.url
        environment["AWS_ACCESS_KEY_ID"] = TestSupport.anyCredentials.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = TestSupport.anyCredentials.secretAccessKey
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment.removeValue(forKey: "AWS_PROFILE")
        environment.removeValue(forKey: "AWS_SESSION_TOKEN")
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw KMSError(.invalidRequest, "kms_peer.py \(arguments.first ?? "") failed: \(String(decoding: errors, as: UTF8.self).suffix(1500))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    @Test func bothDirectionsThroughMoto() async throws {
        try await TestSupport.withMoto { moto in
            try await TestSupport.withHTTPClient { http in
                let kms = TestSupport.client(http, endpoints: ["us-east-1": moto.url, "us-west-2": moto.url])
                let east = try await kms.createKey(description: "interop", policy: nil, region: "us-east-1").arn
                let west = try await kms.createKey(description: "interop", policy: nil, region: "us-west-2").arn
                let directory = TestSupport.temporaryDirectory()
                let context = TestSupport.context(("tenant", "acme"), ("purpose", "interop"))

                // cmkctl → Python: a signed suite, so the SDK's public-key pair is in the KMS context too.
                var configuration = EnvelopeConfiguration()
                configuration.suite = .aes256GCMHKDFSHA512CommitKeyECDSAP384
                let message = try await Envelope(configuration: configuration).encrypt(Self.plaintext, context: context, keyring: KMSKeyring(client: kms, generatorKeyID: east))
                try Data(message).write(to: URL(fileURLWithPath: directory + "/swift.msg"))
                let printed = try Self.peer(["decrypt", east, directory + "/swift.msg", directory + "/swift.out"], moto: moto)
                #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/swift.out"))) == Self.plaintext)
                #expect(printed.contains("tenant=acme"))

                // A multi-region message: Python reads it with the second region's key alone.
                let multi = try await Envelope().encrypt(Self.plaintext, context: context, keyring: MultiRegionKeyring(keys: [
                    RegionalKey(keyARN: east, client: kms), RegionalKey(keyARN: west, client: kms),
                ]))
                try Data(multi).write(to: URL(fileURLWithPath: directory + "/multi.msg"))
                _ = try Self.peer(["decrypt", west, directory + "/multi.msg", directory + "/multi.out"], moto: moto)
                #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/multi.out"))) == Self.plaintext)

                // Python → cmkctl.
                try Data(Self.plaintext).write(to: URL(fileURLWithPath: directory + "/plain"))
                _ = try Self.peer(["encrypt", west, directory + "/plain", directory + "/python.msg", "tenant=acme", "purpose=interop"], moto: moto)
                let fromPython = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/python.msg")))
                let decrypted = try await Envelope().decrypt(fromPython, keyring: KMSKeyring(client: kms, generatorKeyID: west), requiredContext: context)
                #expect(decrypted.plaintext == Self.plaintext)
                // The same message through the multi-region keyring (only its us-west-2 copy exists).
                let viaSet = try await Envelope().decrypt(fromPython, keyring: MultiRegionKeyring(keys: [
                    RegionalKey(keyARN: east, client: kms), RegionalKey(keyARN: west, client: kms),
                ]), requiredContext: context)
                #expect(viaSet.plaintext == Self.plaintext)
                // And a keyring holding only the other key cannot open it.
                await #expect(throws: (any Error).self) {
                    _ = try await Envelope().decrypt(fromPython, keyring: KMSKeyring(client: kms, generatorKeyID: east), requiredContext: context)
                }
            }
        }
    }
}
