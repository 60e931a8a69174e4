import CMKSQLite
import CMKTenant
import CMKTesting
import Foundation
import Testing

/// `cmkctl encrypt --tenant` and `decrypt --tenant` as a script runs them: streamed files, the tenant's
/// pair bound in, and the refusals with their exit codes.
@Suite struct TenantCryptoCLITests {
    let enroll = EnrollCLITests()

    /// An enrolled tenant `acme` (and `globex`) in the scratch directory; returns acme's key and identifier.
    func enrolled(_ scratch: Scratch, environment: [String: String] = [:]) throws -> (key: String, identifier: String) {
        var acme = (key: "", identifier: "")
        for (tenant, tag) in [("acme", "acmeprod"), ("globex", "globex")] {
            let key = try enroll.createKey(scratch, alias: "\(tenant)-root")
            let result = try enroll.cmkctl(scratch, enroll.tenantArgs(["enroll", "--ticket", "SUP-\(tenant)", "--tenant", tenant, "--key", key,
                                                                       "--tag", tag, "--json"]), environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            let status = try #require((try enroll.json(result) as? [String: Any])?["status"] as? [String: Any])
            if tenant == "acme" { acme = (key, try #require(status["contextIdentifier"] as? String)) }
        }
        return acme
    }

    @Test(arguments: TestBackend.allCases)
    func aMultiMebibyteFileRoundTripsThroughTheTenantsKeys(backend: TestBackend) throws {
        let scratch = try Scratch()
        let environment = try EnrollCLITests.storeEnvironment(backend)
        let (key, identifier) = try enrolled(scratch, environment: environment)
        var generator = SystemRandomNumberGenerator()
        let plaintext = (0..<(5 << 20) + 123).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let input = try scratch.write("report.bin", plaintext)

        let encrypt = try enroll.cmkctl(scratch, ["encrypt", "--tenant", "acme", "--context", "purpose=report", "--frame-length", "65536",
                                                  "--input", input, "--output", scratch.path("report.cmk")], environment: environment)
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        let decrypt = try enroll.cmkctl(scratch, ["decrypt", "--tenant", "acme", "--context", "purpose=report",
                                                  "--input", scratch.path("report.cmk"), "--output", scratch.path("report.out")],
                                        environment: environment)
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("report.out"))) == Data(plaintext))

        // stdin to stdout, the same way (through a shell, so neither pipe end waits on the other).
        let piped = try Self.shell("\"$CMKCTL\" encrypt --tenant acme < report.bin > piped.cmk && \"$CMKCTL\" decrypt --tenant acme < piped.cmk > piped.out",
                                   in: scratch, environment: environment.merging(["CMKCTL": CLIRunner.binary]) { $1 })
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("piped.out"))) == Data(plaintext))

        // An ordinary message: the tenant's key with its pair opens it without --tenant.
        let byKey = try enroll.cmkctl(scratch, ["decrypt", "--key", "local:\(key)", "--context", "cmk-tenant=\(identifier)",
                                                "--input", scratch.path("report.cmk"), "--output", scratch.path("bykey.out")])
        #expect(byKey.status == 0, "\(byKey.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("bykey.out"))) == Data(plaintext))
    }

    @Test func refusalsExitWithTheirCodes() async throws {
        let scratch = try Scratch()
        _ = try enrolled(scratch)
        let input = try scratch.write("plain", Array("hello".utf8))
        let acme = try enroll.cmkctl(scratch, ["encrypt", "--tenant", "acme", "--input", input, "--output", scratch.path("acme.cmk")])
        #expect(acme.status == 0, "\(acme.stderr)")

        // Another tenant's message: 65, the same line as any message that cannot be decrypted, nothing written.
        let crossTenant = try enroll.cmkctl(scratch, ["decrypt", "--tenant", "globex", "--input", scratch.path("acme.cmk"),
                                                      "--output", scratch.path("stolen")])
        #expect(crossTenant.status == 65)
        #expect(crossTenant.stderr == "cmkctl: error: \(TenantError.decryptFailed.message)\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("stolen")))

        let unknown = try enroll.cmkctl(scratch, ["encrypt", "--tenant", "nobody", "--input", input])
        #expect(unknown.status == 67, "\(unknown.stderr)")
        let ownPair = try enroll.cmkctl(scratch, ["encrypt", "--tenant", "acme", "--context", "cmk-tenant=globex-000000", "--input", input])
        #expect(ownPair.status == 64, "\(ownPair.stderr)")
        #expect(ownPair.stderr.contains("reserved for the tenant's identifier"))
        let withKey = try enroll.cmkctl(scratch, ["encrypt", "--tenant", "acme", "--key", "local:alias/acme-root", "--input", input])
        #expect(withKey.status == 64)
        let badTenant = try enroll.cmkctl(scratch, ["decrypt", "--tenant", "../etc", "--input", input])
        #expect(badTenant.status == 64)
        let noStore = try enroll.cmkctl(scratch, ["encrypt", "--tenant", "acme", "--store", scratch.path("missing.sqlite"), "--input", input])
        #expect(noStore.status == 74, "\(noStore.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("missing.sqlite")))

        // Suspended through the lifecycle (a confirmed revocation): 69 on both, naming the state.
        let store = try SQLiteStore(path: scratch.path(".cmkctl/store.sqlite"))
        try await Self.suspend("acme", repository: store.repository)
        await store.close()
        for arguments in [["encrypt", "--input", input], ["decrypt", "--input", scratch.path("acme.cmk")]] {
            let suspended = try enroll.cmkctl(scratch, arguments + ["--tenant", "acme"])
            #expect(suspended.status == 77, "\(suspended.stderr)")
            #expect(suspended.stderr.contains("tenant acme is suspended"))
        }
    }

    /// Runs a shell script in the scratch directory; returns its exit status and stderr.
    static func shell(_ script: String, in scratch: Scratch, environment: [String: String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = scratch.url
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }

    static func suspend(_ tenant: String, repository: some TenantRepository) async throws {
        _ = try await repository.write { transaction in
            try await repository.apply(.revocationConfirmed, tenant: tenant, waitingFor: nil, cause: Cause(operatorName: "tester"),
                                       now: Date(), in: transaction)
        }
    }
}
