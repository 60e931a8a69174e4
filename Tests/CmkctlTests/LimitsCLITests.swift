import CMKTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The edges of every input: numeric ranges, sizes, names and the modes of the files cmkctl creates.
@Suite struct LimitsCLITests {
    static let workflows = CLIRunner.packageRoot.appendingPathComponent("Workflows").path

    /// A refusal at parse time: exit 64, the option and its range named, and no crash report.
    func expectUsageError(_ result: CLIRunner.Result, naming words: [String], _ comment: Comment? = nil) {
        #expect(result.status == 64, "\(comment?.rawValue ?? ""): \(result.stderr)")
        for word in words { #expect(result.stderr.contains(word), "stderr lacks \(word): \(result.stderr)") }
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Backtrace") && !result.stderr.contains("Crash"))
    }

    // MARK: numeric options

    @Test(arguments: ["nan", "inf", "1e300", "0", "-1", "0.05", "301"])
    func kmsTimeoutOutsideItsRangeIsAUsageError(value: String) throws {
        let scratch = try Scratch()
        let key = try scratch.randomKey("k.bin", size: 32)
        for command in [["probe", "--key", "local:acme"],
                        ["encrypt", "--key", "raw-aes:a/b=\(key)"],
                        ["decrypt", "--key", "raw-aes:a/b=\(key)"]] {
            let result = try CLIRunner.run(command + ["--kms-timeout=\(value)"], stdin: Data(), in: scratch.url)
            expectUsageError(result, naming: ["--kms-timeout", "0.1 to 300 seconds"], "\(command[0]) --kms-timeout \(value)")
        }
    }

    @Test(arguments: ["nan", "-5", "0", "0.5", "inf", "86401"])
    func leaseSecondsOutsideItsRangeIsAUsageError(value: String) throws {
        let scratch = try Scratch()
        let result = try CLIRunner.run(["worker", "--until-idle", "--workflows", Self.workflows, "--lease-seconds=\(value)"], in: scratch.url)
        expectUsageError(result, naming: ["--lease-seconds", "1 to 86400 seconds"], "worker --lease-seconds \(value)")
        // Nothing was created: the refusal came before the store.
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl")))
    }

    @Test(arguments: [
        (["decrypt", "--key", "local:acme", "--hedge-delay-ms=-1"], "--hedge-delay-ms"),
        (["encrypt", "--key", "local:acme", "--min-regions", "0"], "--min-regions"),
        (["kms", "schedule-deletion", "alias/x", "--days", "6"], "--days"),
        (["bench", "envelope", "--seconds", "nan"], "--seconds"),
        (["bench", "envelope", "--message-mib", "0"], "--message-mib"),
        (["bench", "kms", "--round-trips", "0"], "--round-trips"),
        (["bench", "cache", "--ops-per-second", "nan"], "--ops-per-second"),
        (["bench", "cache", "--decrypt-share", "1.5"], "--decrypt-share"),
        (["bench", "cache", "--tenants", "0"], "--tenants"),
        (["bench", "workflow", "--executions", "10000000"], "--executions"),
    ])
    func otherNumericOptionsAreRangeChecked(arguments: [String], option: String) throws {
        let scratch = try Scratch()
        expectUsageError(try CLIRunner.run(arguments, in: scratch.url), naming: [option, "out of range"])
    }

    @Test func aConfiguredRecheckBelowOneSecondIsRefusedAtLoad() throws {
        let scratch = try Scratch()
        let config = try scratch.write("operator.json", Array(#"{"recheckInitialSeconds": 1e-9}"#.utf8))
        let result = try CLIRunner.run(["worker", "--until-idle", "--config", config, "--workflows", Self.workflows], in: scratch.url)
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("recheckInitialSeconds must be a number of seconds from 1 to 2592000"))
        #expect(result.stderr.split(separator: "\n").count == 1)

        let typed = try scratch.write("typed.json", Array(#"{"recheckMaxSeconds": "6h"}"#.utf8))
        let wrongType = try CLIRunner.run(["worker", "--until-idle", "--config", typed, "--workflows", Self.workflows], in: scratch.url)
        #expect(wrongType.status == 78)
        #expect(wrongType.stderr.contains("recheckMaxSeconds must be a number"))
        #expect(!wrongType.stderr.contains("Swift."), "no Swift type names: \(wrongType.stderr)")
    }

    // MARK: sizes

    /// A syntactically valid policy of about `bytes` bytes (a long Sid).
    func policy(bytes: Int) -> [UInt8] {
        let head = #"{"Version":"2012-10-17","Statement":[{"Sid":""#
        let tail = #"","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#
        return Array((head + String(repeating: "a", count: max(0, bytes - head.utf8.count - tail.utf8.count)) + tail).utf8)
    }

    @Test func policiesOverThirtyTwoKilobytesAreRefusedWithoutReadingThemWhole() throws {
        let scratch = try Scratch()
        let requirements = ["--identifier", "acmeprod-abc123", "--principal", "arn:aws:iam::111122223333:role/saas"]
        let fits = try scratch.write("fits.json", policy(bytes: 32_768))
        #expect(try CLIRunner.run(["policy", "check", "--policy", fits] + requirements, in: scratch.url).status != 65)

        let large = try scratch.write("large.json", policy(bytes: 32_769))
        let refused = try CLIRunner.run(["policy", "check", "--policy", large] + requirements, in: scratch.url)
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("32768 bytes"))
        let fromStdin = try CLIRunner.run(["policy", "check", "--policy", "-"] + requirements, stdin: Data(policy(bytes: 40_000)), in: scratch.url)
        #expect(fromStdin.status == 65)
        #expect(fromStdin.stderr.contains("standard input") && fromStdin.stderr.contains("32768 bytes"))

        // A 256 MiB file (sparse, so the test writes nothing) is refused after its first 32 KB.
        let huge = scratch.path("huge.json")
        #expect(FileManager.default.createFile(atPath: huge, contents: Data("{".utf8)))
        #expect(truncate(huge, 256 << 20) == 0)
        let started = Date()
        let hugeResult = try CLIRunner.run(["policy", "check", "--policy", huge] + requirements, in: scratch.url)
        #expect(hugeResult.status == 65)
        #expect(hugeResult.stderr.contains("32768 bytes"))
        #expect(Date().timeIntervalSince(started) < 10)

        // The local KMS holds the same limit, for a new key and a replaced policy.
        let created = try CLIRunner.run(["kms", "create-key", "--alias", "acme", "--policy-file", large], in: scratch.url)
        #expect(created.status == 65)
        #expect(created.stderr.contains("32768 bytes"))
        #expect(try CLIRunner.run(["kms", "create-key", "--alias", "acme"], in: scratch.url).status == 0)
        let replaced = try CLIRunner.run(["kms", "put-policy", "alias/acme", "--policy-file", "-"], stdin: Data(policy(bytes: 50_000)), in: scratch.url)
        #expect(replaced.status == 65)
        #expect(replaced.stderr.contains("32768 bytes"))
        #expect(try CLIRunner.run(["kms", "put-policy", "alias/acme", "--policy-file", fits], in: scratch.url).status == 0)
    }

    @Test func signalPayloadsAndOperatorNamesAreBounded() throws {
        let scratch = try Scratch()
        let payload = #"{"note":""# + String(repeating: "x", count: 65_536) + #""}"#
        expectUsageError(try CLIRunner.run(["signal", "enroll-acme-SUP-1", "--payload", payload], in: scratch.url),
                         naming: ["--payload", "65536 bytes"])

        let key = "arn:aws:kms:local:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        let enroll = ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acme", "--workflows", Self.workflows]
        let result = try CLIRunner.run(enroll + ["--operator", String(repeating: "o", count: 257)], in: scratch.url)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("256 bytes"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl/store.sqlite")), "refused before the store was created")
    }

    // MARK: names

    @Test(arguments: [".", "..", "a/b", "../etc", "a\u{1}b", "-acme", String(repeating: "a", count: 65), ""])
    func tenantIdsOutsideTheGrammarAreUsageErrors(tenant: String) throws {
        let scratch = try Scratch()
        let option = "--tenant=\(tenant)"
        for command in [["status", option], ["history", option], ["audit", "export", option], ["policy", "check", "--policy", "-", option]] {
            let result = try CLIRunner.run(command, in: scratch.url)
            #expect(result.status == 64, "\(command[0]) \(option): \(result.stderr)")
            // An empty value is already refused by the argument parser ("Missing value for '--tenant'").
            #expect(result.stderr.contains(tenant.isEmpty ? "--tenant" : "tenant id"), "\(result.stderr)")
        }
        let key = "arn:aws:kms:local:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        let enroll = try CLIRunner.run(["enroll", "--ticket", "SUP-1", "--tenant=\(tenant)", "--key", key, "--tag", "acme",
                                        "--workflows", Self.workflows], in: scratch.url)
        #expect(enroll.status == 64, "\(enroll.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl/store.sqlite")))
    }

    @Test(arguments: ["../../x", "alias/../x", "a.b", "aws/x", "alias/aws/x", "a//b", "a/", "alias/", String(repeating: "a", count: 251)])
    func aliasesOutsideTheGrammarAreUsageErrors(alias: String) throws {
        let scratch = try Scratch()
        let result = try CLIRunner.run(["kms", "create-key", "--alias=\(alias)"], in: scratch.url)
        expectUsageError(result, naming: ["--alias"], "--alias \(alias)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl/local-kms.json")))
    }

    @Test(arguments: ["a", "acme-root", "alias/team/acme_1", String(repeating: "a", count: 250)])
    func aliasesWithinTheGrammarAreAccepted(alias: String) throws {
        let scratch = try Scratch()
        let result = try CLIRunner.run(["kms", "create-key", "--alias", alias], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
    }

    // MARK: file modes

    /// Runs cmkctl under `umask 022`, as most shells have it.
    func runUnderUmask022(_ arguments: [String], in directory: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask 022 && exec \"$@\"", "sh", CLIRunner.binary] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func mode(_ path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o777
    }

    @Test func theStoreItsWALAndExportsAreOwnerOnlyUnderUmask022() throws {
        let scratch = try Scratch()
        let kms = "kms/local-kms.json"
        let created = try CLIRunner.run(["kms", "create-key", "--local-kms", kms, "--alias", "acme-root", "--json"], in: scratch.url)
        #expect(created.status == 0, "\(created.stderr)")
        let arn = try #require((try JSONSerialization.jsonObject(with: created.stdout) as? [String: Any])?["arn"] as? String)
        let config = try scratch.write("operator.json", Array(#"{"localKms": "kms/local-kms.json"}"#.utf8))
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl")))

        let enroll = try runUnderUmask022(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", arn, "--tag", "acme",
                                           "--config", config, "--workflows", Self.workflows], in: scratch.url)
        enroll.waitUntilExit()
        #expect(enroll.terminationStatus == 0)
        #expect(mode(scratch.path(".cmkctl")) == 0o700)
        #expect(mode(scratch.path(".cmkctl/store.sqlite")) == 0o600)

        // A running worker holds the database open, so its -wal and -shm files exist meanwhile.
        let worker = try runUnderUmask022(["worker", "--config", config, "--workflows", Self.workflows], in: scratch.url)
        defer { if worker.isRunning { worker.terminate() }; worker.waitUntilExit() }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, mode(scratch.path(".cmkctl/store.sqlite-shm")) == nil || mode(scratch.path(".cmkctl/store.sqlite-wal")) == nil {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(mode(scratch.path(".cmkctl/store.sqlite-wal")) == 0o600)
        #expect(mode(scratch.path(".cmkctl/store.sqlite-shm")) == 0o600)

        // An export is 0600 too, also when it replaces a world-readable file.
        let exported = scratch.path("acme-audit.jsonl")
        #expect(FileManager.default.createFile(atPath: exported, contents: Data(), attributes: [.posixPermissions: 0o644]))
        let export = try runUnderUmask022(["audit", "export", "--tenant", "acme", "--output", exported], in: scratch.url)
        export.waitUntilExit()
        #expect(export.terminationStatus == 0)
        #expect(mode(exported) == 0o600)
        #expect(((try? String(contentsOfFile: exported, encoding: .utf8)) ?? "").contains("\"tenant\":\"acme\""))
        let fresh = scratch.path("all.jsonl")
        let exportAll = try runUnderUmask022(["audit", "export", "--all", "--output", fresh], in: scratch.url)
        exportAll.waitUntilExit()
        #expect(exportAll.terminationStatus == 0)
        #expect(mode(fresh) == 0o600)
        #expect(!scratch.contents.contains { $0.hasSuffix(".tmp") }, "no temporary file left: \(scratch.contents)")
    }
}
