import Foundation
import Testing

/// `cmkctl kms`, `probe` and the `local:` key spec, driven through the built binary against a local
/// KMS file in a scratch directory.
@Suite struct KMSCLITests {
    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("create-key --json prints the ARN; the key file is 0600 and its secret never printed")
    func createKeyAndList() throws {
        let scratch = try Scratch()
        let kms = scratch.path("kms/local.json")
        let created = try CLIRunner.run(["kms", "create-key", "--alias", "tenant-a", "--json", "--local-kms", kms])
        #expect(created.status == 0, "\(created.stderr)")
        let arn = try #require(try Self.json(created.stdout)["arn"] as? String)
        #expect(arn.hasPrefix("arn:aws:kms:local:000000000000:key/"))
        #expect((try FileManager.default.attributesOfItem(atPath: kms)[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let file = try Self.json(try Data(contentsOf: URL(fileURLWithPath: kms)))
        let secret = try #require(file["rootSecret"] as? String)
        var outputs = created.stdoutText
        for arguments in [["list"], ["list", "--json"], ["describe", "tenant-a"], ["describe", "alias/tenant-a", "--json"], ["get-policy", arn]] {
            let result = try CLIRunner.run(["kms"] + arguments + ["--local-kms", kms])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            outputs += result.stdoutText + result.stderr
        }
        #expect(outputs.contains(arn))
        #expect(!outputs.contains(secret))
    }

    @Test("probe verdicts and exit codes follow disable, policy deny and unknown keys")
    func probeVerdicts() throws {
        let scratch = try Scratch()
        let kms = scratch.path("local.json")
        #expect(try CLIRunner.run(["kms", "create-key", "--alias", "t", "--local-kms", kms]).status == 0)

        let ok = try CLIRunner.run(["probe", "--key", "local:t", "--context", "tenant=t", "--json", "--local-kms", kms])
        #expect(ok.status == 0, "\(ok.stderr)")
        let report = try Self.json(ok.stdout)
        #expect(report["verdict"] as? String == "ok")
        let steps = try #require(((report["keys"] as? [[String: Any]])?.first?["steps"]) as? [[String: Any]])
        #expect(steps.map { $0["name"] as? String } == ["DescribeKey", "GenerateDataKey", "Decrypt", "Decrypt(wrong context)"])

        #expect(try CLIRunner.run(["kms", "disable", "t", "--local-kms", kms]).status == 0)
        let disabled = try CLIRunner.run(["probe", "--key", "local:t", "--context", "tenant=t", "--local-kms", kms])
        #expect(disabled.status == 11)
        #expect(disabled.stdoutText.contains("verdict: disabled"))
        #expect(try CLIRunner.run(["kms", "enable", "t", "--local-kms", kms]).status == 0)

        let deny = #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#
        #expect(try CLIRunner.run(["kms", "put-policy", "t", "--policy-file", "-", "--local-kms", kms], stdin: Data(deny.utf8)).status == 0)
        #expect(try CLIRunner.run(["probe", "--key", "local:t", "--context", "tenant=t", "--local-kms", kms]).status == 10)

        #expect(try CLIRunner.run(["probe", "--key", "local:missing", "--local-kms", kms]).status == 12)
        #expect(try CLIRunner.run(["kms", "schedule-deletion", "t", "--days", "7", "--local-kms", kms]).status == 0)
        #expect(try CLIRunner.run(["kms", "cancel-deletion", "t", "--local-kms", kms]).status == 0)
    }

    @Test("encrypt and decrypt with a local: key; a disabled key stops decrypt with one line")
    func encryptDecryptWithLocalKey() throws {
        let scratch = try Scratch()
        let kms = scratch.path("local.json")
        #expect(try CLIRunner.run(["kms", "create-key", "--alias", "tenant-a", "--local-kms", kms]).status == 0)
        let encrypt = try CLIRunner.run(["encrypt", "--key", "local:tenant-a", "--context", "tenant=a", "--local-kms", kms], stdin: Data("hello kms".utf8))
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        let decrypt = try CLIRunner.run(["decrypt", "--key", "local:alias/tenant-a", "--context", "tenant=a", "--local-kms", kms], stdin: encrypt.stdout)
        #expect(decrypt.stdoutText == "hello kms")

        #expect(try CLIRunner.run(["kms", "disable", "tenant-a", "--local-kms", kms]).status == 0)
        let refused = try CLIRunner.run(["decrypt", "--key", "local:tenant-a", "--local-kms", kms], stdin: encrypt.stdout)
        #expect(refused.status == 69)
        #expect(refused.stderr.contains("disabled"))
        #expect(refused.stdout.isEmpty)
    }
}
