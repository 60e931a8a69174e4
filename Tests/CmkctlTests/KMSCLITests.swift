import CMKTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

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

        // A key this file never held is the operator's problem (another file?), not a revocation.
        let missing = try CLIRunner.run(["probe", "--key", "local:missing", "--local-kms", kms])
        #expect(missing.status == 78)
        #expect(missing.stdoutText.contains("is not in the local KMS file \(kms)"))
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
        #expect(refused.status == 11)  // the key verdict "disabled", as `probe` reports it
        #expect(refused.stderr.contains("disabled"))
        #expect(refused.stdout.isEmpty)
    }

    @Test("a local key used from another directory: exit 78, the file read is named, no file is created")
    func localKeyFromAnotherDirectory() throws {
        let scratch = try Scratch()
        let home = scratch.url.appendingPathComponent("home")
        let other = scratch.url.appendingPathComponent("other")
        for directory in [home, other] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        let created = try CLIRunner.run(["kms", "create-key", "--alias", "acme"], in: home)
        #expect(created.status == 0, "\(created.stderr)")
        let arn = created.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: home.path + "/.cmkctl/local-kms.json"))

        let probe = try CLIRunner.run(["probe", "--key", "local:" + arn, "--json"], in: other)
        #expect(probe.status == 78, "\(probe.stderr)")
        let report = try Self.json(probe.stdout)
        #expect(report["verdict"] as? String == "misconfigured")
        #expect(report["class"] as? String == "misconfiguration")
        #expect(probe.stdoutText.contains("there is no local KMS file at \(other.path)/.cmkctl/local-kms.json"))
        let table = try CLIRunner.run(["probe", "--key", "local:" + arn], in: other)
        #expect(table.stdoutText.contains("verdict: misconfigured (misconfiguration: cmkctl's own setup"))

        let list = try CLIRunner.run(["kms", "describe", "acme"], in: other)
        #expect(list.status == 78)
        #expect(list.stderr.contains("there is no local KMS file at \(other.path)/.cmkctl/local-kms.json"), "\(list.stderr)")
        // Nothing was created by reading: no file, no lock file, no directory.
        #expect(!FileManager.default.fileExists(atPath: other.path + "/.cmkctl"))

        // A file of another directory that never held the key names itself too.
        #expect(try CLIRunner.run(["kms", "create-key", "--alias", "unrelated"], in: other).status == 0)
        let wrongFile = try CLIRunner.run(["probe", "--key", "local:" + arn], in: other)
        #expect(wrongFile.status == 78)
        #expect(wrongFile.stdoutText.contains("is not in the local KMS file \(other.path)/.cmkctl/local-kms.json"))
    }

    @Test("a local KMS file others may read is refused with the chmod that fixes it")
    func worldReadableFileIsRefused() throws {
        let scratch = try Scratch()
        let kms = scratch.path("local.json")
        #expect(try CLIRunner.run(["kms", "create-key", "--alias", "t", "--local-kms", kms]).status == 0)
        #expect(chmod(kms, 0o644) == 0)
        for arguments in [["kms", "list"], ["kms", "create-key"], ["probe", "--key", "local:t"]] {
            let result = try CLIRunner.run(arguments + ["--local-kms", kms])
            #expect(result.status == 78, "\(arguments)")
            #expect((result.stderr + result.stdoutText).contains("run `chmod 600 \(kms)`"), "\(arguments): \(result.stderr)")
        }
        #expect(chmod(kms, 0o600) == 0)
        #expect(try CLIRunner.run(["kms", "list", "--local-kms", kms]).status == 0)
    }

    @Test("probe without AWS credentials: exit 78 (misconfiguration), never a verdict about the key")
    func probeWithoutAWSCredentials() throws {
        let scratch = try Scratch()
        let environment = ["HOME": scratch.url.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        // The endpoint is never reached: a closed loopback port would say `unreachable` if it were.
        let result = try CLIRunner.run(["probe", "--key", "aws-kms:" + arn, "--kms-endpoint", "us-east-1=http://127.0.0.1:9", "--json"],
                                       environment: environment)
        #expect(result.status == 78, "\(result.stderr)")
        let report = try Self.json(result.stdout)
        #expect(report["verdict"] as? String == "misconfigured")
        #expect(result.stdoutText.contains("no AWS credentials"))
        #expect(result.stdoutText.contains(scratch.url.path + "/.aws/credentials"))
    }
}
