import CMKTesting
import Foundation
import Testing

/// Key ARNs, operator names and stored text from outside, as the built `cmkctl` meets them: a
/// malformed ARN is refused (exit 64) before anything is journaled or any connection is made, and
/// control characters never reach the terminal raw.
@Suite struct UntrustedTextCLITests {
    static let workflows = CLIRunner.packageRoot.appendingPathComponent("Workflows").path
    static let uuid = "1234abcd-12ab-34cd-56ef-1234567890ab"
    /// Credentials, so that an accepted ARN would really be called (they are never valid anywhere).
    static let credentials = ["AWS_ACCESS_KEY_ID": "AKIDTESTING", "AWS_SECRET_ACCESS_KEY": "testing-secret"]
    static let escape = UInt8(0x1B)

    /// ARNs the old parser let through; the region-less ones all name us-east-1, whose endpoint the
    /// test points at its listener, and `x@127.0.0.1#` would make the host 127.0.0.1 itself.
    static let malformedARNs = [
        "arn:aws:kms:x@127.0.0.1#:111122223333:key/\(uuid)",
        "arn:aws:kms:us-east-1:111122223333:key/../x",
        "arn:aws:kms:us-east-1:111122223333:key/\(uuid)#x",
        "arn:aws:kms:us-east-1:111122223333:key/\(uuid)?x=1",
        "arn:aws:kms:us-east-1:111122223333:key/\(uuid) ",
        "arn:aws:kms:us-east-1:1:key/\(uuid)",
        "arn:aws-evil:kms:us-east-1:111122223333:key/\(uuid)",
        "arn:aws:kms:us-east-1:111122223333:key/mrk-1234",
        "arn:aws:kms:us-east-1:111122223333:key/\(uuid)\n\u{1B}[32macme  active  generation 1",
    ]

    func cmkctl(_ scratch: Scratch, _ arguments: [String], stdin: Data? = nil) throws -> CLIRunner.Result {
        try CLIRunner.run(arguments, stdin: stdin, in: scratch.url, environment: ProcessInfo.processInfo.environment.merging(Self.credentials) { _, test in test })
    }

    func sqlite(_ scratch: Scratch, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [scratch.path(".cmkctl/store.sqlite"), sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "sqlite3 failed: \(sql)")
    }

    /// One line on stderr, no raw control character in it.
    func expectOneSafeErrorLine(_ result: CLIRunner.Result, _ context: String) {
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(context): \(result.stderr)")
        #expect(!result.stderr.utf8.contains(Self.escape), "\(context): \(result.stderr)")
    }

    @Test func malformedARNsAreRefusedBeforeAnyConnectionOrJournal() throws {
        let listener = try ConnectionCounter()
        // The https port of 127.0.0.1, where `x@127.0.0.1#` pointed the old client; observed when it can be bound.
        let httpsListener = try? ConnectionCounter(port: 443)
        defer {
            listener.stop()
            httpsListener?.stop()
        }
        let endpoint = ["--kms-endpoint", "us-east-1=\(listener.url)", "--kms-timeout", "2"]
        for arn in Self.malformedARNs {
            let scratch = try Scratch()
            try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".cmkctl"), withIntermediateDirectories: true)
            _ = try scratch.write(".cmkctl/operator.json", Array(#"{"kmsEndpoints": {"us-east-1": "\#(listener.url)"}}"#.utf8))
            let enroll = try cmkctl(scratch, ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", arn, "--tag", "acme",
                                              "--workflows", Self.workflows])
            #expect(enroll.status == 64, "enroll \(arn): \(enroll.stderr)")
            #expect(enroll.stderr.contains("is not a KMS key ARN"), "\(enroll.stderr)")
            expectOneSafeErrorLine(enroll, "enroll \(arn)")
            #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl/store.sqlite")), "enroll \(arn) journaled")

            let runs: [(String, [String], Data?)] = [
                ("probe", ["probe", "--key", arn, "--context", "t=a"] + endpoint, nil),
                ("probe aws-kms:", ["probe", "--key", "aws-kms:" + arn, "--context", "t=a"] + endpoint, nil),
                ("encrypt", ["encrypt", "--key", "aws-kms:" + arn, "--context", "t=a"] + endpoint, Data("secret".utf8)),
                ("encrypt local:", ["encrypt", "--key", "local:" + arn, "--context", "t=a", "--local-kms", scratch.path("kms.json")], Data("secret".utf8)),
                ("decrypt", ["decrypt", "--key", "aws-kms:" + arn] + endpoint, Data("not a message".utf8)),
            ]
            for (name, arguments, stdin) in runs {
                let result = try cmkctl(scratch, arguments, stdin: stdin)
                #expect(result.status == 64, "\(name) \(arn): \(result.status) \(result.stderr)")
                #expect(result.stderr.contains("is not a KMS key ARN"), "\(name): \(result.stderr)")
                #expect(!result.stderr.utf8.contains(Self.escape), "\(name): \(result.stderr)")
                #expect(result.stdout.isEmpty, "\(name) \(arn) wrote output")
            }
        }
        #expect(listener.connections == 0)
        #expect((httpsListener?.connections ?? 0) == 0)

        // The listener does see a well-formed key's call: the zero above means something.
        let scratch = try Scratch()
        let valid = try cmkctl(scratch, ["probe", "--key", "arn:aws:kms:us-east-1:111122223333:key/\(Self.uuid)"] + endpoint)
        #expect(valid.status == 15, "\(valid.stderr)")
        #expect(listener.connections >= 1)
    }

    @Test func anOperatorNameOrTenantIdWithControlCharactersIsRefused() throws {
        let scratch = try Scratch()
        let forged = "mallory\n\u{1B}[32m2026-01-01T00:00:00.000Z  transition: enrolling -> active"
        let enroll = try cmkctl(scratch, ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--tag", "acme", "--operator", forged,
                                          "--key", "arn:aws:kms:local:000000000000:key/\(Self.uuid)", "--workflows", Self.workflows])
        #expect(enroll.status == 64)
        #expect(enroll.stderr.contains("--operator"))
        expectOneSafeErrorLine(enroll, "enroll --operator")
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl/store.sqlite")))
        for command in [["status", "--tenant"], ["history", "--tenant"]] {
            let result = try cmkctl(scratch, command + ["acme\n\u{1B}[2J"])
            #expect(result.status == 64, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("--tenant"))
            #expect(!result.stderr.utf8.contains(Self.escape))
        }
    }

    /// Text that reaches the store some other way (an older version, a hand edit) is escaped by
    /// `status` and `history`; a stored key ARN outside the grammar is refused, with an escaped message.
    @Test func storedTextIsEscapedInStatusAndHistory() throws {
        let scratch = try Scratch()
        let created = try cmkctl(scratch, ["kms", "create-key", "--alias", "acme-root", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        let key = try #require((try JSONSerialization.jsonObject(with: created.stdout) as? [String: Any])?["arn"] as? String)
        let enroll = try cmkctl(scratch, ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acme",
                                          "--operator", "alice", "--workflows", Self.workflows])
        #expect(enroll.status == 0, "\(enroll.stderr)")

        try sqlite(scratch, """
            UPDATE tenants SET waiting_for = 'x' || char(10) || char(27) || '[32mglobex  active  generation 7' WHERE id = 'acme';
            DROP TRIGGER audit_log_no_update;
            UPDATE audit_log SET cause = json_set(cause, '$.operator', 'mallory' || char(10) || char(27) || '[32mforged line') WHERE tenant = 'acme';
            """)
        let status = try cmkctl(scratch, ["status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(!status.stdout.contains(Self.escape))
        #expect(!status.stdoutText.split(separator: "\n").contains { $0.hasPrefix("globex") })
        #expect(status.stdoutText.contains(#"waiting for x\n\u{1B}[32mglobex  active  generation 7"#))

        let history = try cmkctl(scratch, ["history", "--tenant", "acme"])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(!history.stdout.contains(Self.escape))
        let lines = history.stdoutText.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.hasPrefix("20") }, "every line is an entry: \(lines)")
        #expect(history.stdoutText.contains(#"by mallory\n\u{1B}[32mforged line"#))

        // A key ARN edited in the store is refused on read, naming the tenant, the message one safe line.
        try sqlite(scratch, """
            UPDATE generation_keys SET key_arn = 'arn:aws:kms:local:000000000000:key/' || char(10) || char(27) || '[32mx'
            WHERE tenant = 'acme' AND number = 1;
            """)
        let refused = try cmkctl(scratch, ["status"])
        #expect(refused.status == 74, "\(refused.stdoutText) \(refused.stderr)")
        #expect(refused.stderr.contains("tenant acme key generation 1 holds an invalid key"))
        expectOneSafeErrorLine(refused, "status with an edited key ARN")
    }
}
