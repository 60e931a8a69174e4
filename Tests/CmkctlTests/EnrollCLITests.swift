import CMKTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `cmkctl enroll`, `status`, `history` and `audit` as support staff run them, on the embedded default.
@Suite struct EnrollCLITests {
    static let workflows = CLIRunner.packageRoot.appendingPathComponent("Workflows").path

    /// Runs cmkctl in the scratch directory (its store and local KMS live there); `environment` adds
    /// variables (CMKCTL_STORE for a PostgreSQL store).
    func cmkctl(_ scratch: Scratch, _ arguments: [String], environment: [String: String] = [:]) throws -> CLIRunner.Result {
        if environment.isEmpty { return try CLIRunner.run(arguments, in: scratch.url) }
        return try CLIRunner.run(arguments, in: scratch.url,
                                 environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }

    /// No variables for SQLite (the store is the scratch directory's file); CMKCTL_STORE naming a fresh
    /// database on the suite's PostgreSQL server otherwise.
    static func storeEnvironment(_ backend: TestBackend) throws -> [String: String] {
        switch backend {
        case .sqlite: return [:]
        case .postgres:
            let server = try PostgresServer.shared(packageRoot: CLIRunner.packageRoot.path)
            return ["CMKCTL_STORE": try server.freshDatabase("cli")]
        }
    }

    func tenantArgs(_ rest: [String]) -> [String] { rest + ["--workflows", Self.workflows] }

    func createKey(_ scratch: Scratch, alias: String) throws -> String {
        let created = try cmkctl(scratch, ["kms", "create-key", "--alias", alias, "--description", alias, "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        let object = try JSONSerialization.jsonObject(with: created.stdout) as? [String: Any]
        return try #require(object?["arn"] as? String)
    }

    func json(_ result: CLIRunner.Result) throws -> Any {
        try JSONSerialization.jsonObject(with: result.stdout)
    }

    @Test func enrollReportsStatusHistoryAndAnIntactAudit() throws {
        let scratch = try Scratch()
        let key = try createKey(scratch, alias: "acme-root")
        let enroll = tenantArgs(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acmeprod", "--operator", "alice"])
        let first = try cmkctl(scratch, enroll)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdoutText.contains("enrollment started: enroll-acme-SUP-1"))
        #expect(first.stdoutText.contains("acme  active  generation 1  regions local"))

        let again = try cmkctl(scratch, enroll + ["--json"])
        #expect(again.status == 0)
        let document = try #require(try json(again) as? [String: Any])
        #expect(document["created"] as? Bool == false)
        let status = try #require(document["status"] as? [String: Any])
        #expect(status["state"] as? String == "active")
        let identifier = try #require(status["contextIdentifier"] as? String)
        #expect(identifier.hasPrefix("acmeprod-"))

        let conflict = try cmkctl(scratch, tenantArgs(["enroll", "--ticket", "SUP-2", "--tenant", "acme", "--key", key, "--tag", "acmeprod"]))
        #expect(conflict.status == 4)
        #expect(conflict.stderr.contains("already active under ticket SUP-1"))

        // Status and history read the store only: no Workflows directory needed where they run.
        let listed = try cmkctl(scratch, ["status", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect((try json(listed) as? [[String: Any]])?.count == 1)
        #expect(try cmkctl(scratch, ["status", "--tenant", "nobody"]).status == 67)

        let history = try cmkctl(scratch, ["history", "--tenant", "acme"])
        #expect(history.status == 0)
        for line in ["ExecutionStarted", "transition: (new) -> enrolling", "kms-call: GetKeyPolicy", "kms-call: GenerateDataKey",
                     "transition: re-encrypting -> active", "ExecutionSucceeded", "by alice"] {
            #expect(history.stdoutText.contains(line), "history lacks \(line)")
        }
        // No key material or ciphertext in the timeline: only names, ids and outcomes.
        #expect(!history.stdoutText.contains("CiphertextBlob") && !history.stdoutText.contains("Plaintext"))

        // The tenant's own statements, with its identifier; once applied, the live check finds nothing.
        let before = try cmkctl(scratch, ["policy", "check", "--tenant", "acme"])
        #expect(before.status == 0)
        #expect(before.stdoutText.contains("warning context-condition-missing"))
        let template = try cmkctl(scratch, ["policy", "template", "--tenant", "acme", "--document"])
        #expect(template.stdoutText.contains("\"kms:EncryptionContext:cmk-tenant\": \"\(identifier)\""))
        let policyFile = try scratch.write("acme-policy.json", Array(template.stdout))
        #expect(try cmkctl(scratch, ["kms", "put-policy", "alias/acme-root", "--policy-file", policyFile]).status == 0)
        let after = try cmkctl(scratch, ["policy", "check", "--tenant", "acme", "--json"])
        #expect(after.status == 0)
        let reports = try #require(try json(after) as? [[String: Any]])
        #expect(((reports.first?["report"] as? [String: Any])?["findings"] as? [Any])?.isEmpty == true)

        let verify = try cmkctl(scratch, ["audit", "verify"])
        #expect(verify.status == 0)
        #expect(verify.stdoutText.contains("audit chain intact"))

        let export = try cmkctl(scratch, ["audit", "export", "--tenant", "acme"])
        let lines = export.stdoutText.split(separator: "\n")
        #expect(lines.count >= 10)
        for line in lines {
            let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(entry["tenant"] as? String == "acme")
            #expect(entry["hash"] is String && entry["prevHash"] is String && entry["time"] is String)
        }
    }

    @Test func invalidInputIsRefusedBeforeAnythingIsJournaled() throws {
        let scratch = try Scratch()
        let cases: [([String], Int32, String)] = [
            (["--key", "arn:aws:kms:us-east-1:111122223333:alias/acme", "--tag", "acme"], 64, "alias ARN"),
            (["--key", "not-an-arn", "--tag", "acme"], 64, "is not a KMS key ARN"),
            (["--key", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "--key", "arn:aws:kms:us-east-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab", "--tag", "acme"],
             64, "two keys in region us-east-1"),
            (["--key", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "--tag", "acme-prod!"], 64, "ASCII letters and digits"),
            (["--key", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "--tag", "waytoolongtag1"], 64, "at most 12"),
        ]
        for (arguments, status, message) in cases {
            let result = try cmkctl(scratch, tenantArgs(["enroll", "--ticket", "SUP-1", "--tenant", "acme"] + arguments))
            #expect(result.status == status, "\(arguments)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".cmkctl"), withIntermediateDirectories: true)
        _ = try scratch.write(".cmkctl/operator.json", Array(#"{"tenants": ["acme"]}"#.utf8))
        let unknown = try cmkctl(scratch, tenantArgs(["enroll", "--ticket", "SUP-1", "--tenant", "globex", "--key",
                                                      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "--tag", "globex"]))
        #expect(unknown.status == 67)
        #expect(unknown.stderr.contains("not in the operator's tenant list"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl/store.sqlite")))
    }

    @Test func aDisabledKeyLeavesTheTenantAwaitingTheCustomer() throws {
        let scratch = try Scratch()
        let key = try createKey(scratch, alias: "globex-root")
        #expect(try cmkctl(scratch, ["kms", "disable", "alias/globex-root"]).status == 0)
        let enroll = tenantArgs(["enroll", "--ticket", "SUP-3", "--tenant", "globex", "--key", key, "--tag", "globex"])
        let waiting = try cmkctl(scratch, enroll)
        #expect(waiting.status == 2)
        #expect(waiting.stdoutText.contains("globex  awaiting-customer"))
        #expect(waiting.stdoutText.contains("failed the probe (disabled at DescribeKey"))

        #expect(try cmkctl(scratch, ["kms", "enable", "alias/globex-root"]).status == 0)
        let signal = try cmkctl(scratch, ["signal", "enroll-globex-SUP-3", "--payload", #"{"fixed":true}"#])
        #expect(signal.status == 0, "\(signal.stderr)")
        let worker = try cmkctl(scratch, tenantArgs(["worker", "--until-idle"]))
        #expect(worker.status == 0, "\(worker.stderr)")
        let status = try cmkctl(scratch, ["status", "--tenant", "globex", "--json"])
        #expect((try json(status) as? [[String: Any]])?.first?["state"] as? String == "active")
    }

    @Test func tamperingWithAnAuditEntryIsNamedByVerify() throws {
        let scratch = try Scratch()
        let key = try createKey(scratch, alias: "acme-root")
        #expect(try cmkctl(scratch, tenantArgs(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acme"])).status == 0)
        let intact = try #require(try json(try cmkctl(scratch, ["audit", "verify", "--json"])) as? [String: Any])
        let head = try #require(intact["headHash"] as? String)
        #expect(try cmkctl(scratch, ["audit", "verify", "--expect-head", head]).status == 0)
        #expect(try cmkctl(scratch, ["audit", "verify", "--expect-head", String(repeating: "0", count: 64)]).status == 5)
        let sql = "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'nothing to see' WHERE seq = 3;"
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [scratch.path(".cmkctl/store.sqlite"), sql]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)
        let verify = try cmkctl(scratch, ["audit", "verify"])
        #expect(verify.status == 5)
        #expect(verify.stderr.contains("audit entry 3"))
        #expect(verify.stderr.contains("altered"))
    }

    @Test func concurrentEnrollmentsOnANewStoreGetDistinctIdentifiers() throws {
        let scratch = try Scratch()
        let tenants = ["t1", "t2", "t3", "t4"]
        var keys: [String: String] = [:]
        for tenant in tenants { keys[tenant] = try createKey(scratch, alias: "\(tenant)-root") }
        // Four support staff at once, all asking for the same tag, on a store nobody has opened yet.
        let processes = try tenants.map { tenant in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
            process.arguments = tenantArgs(["enroll", "--ticket", "SUP-\(tenant)", "--tenant", tenant, "--key", keys[tenant]!, "--tag", "same"])
            process.currentDirectoryURL = scratch.url
            process.standardOutput = FileHandle.nullDevice
            // To a file, not a pipe: a full pipe would block the process, and a failure should say why.
            FileManager.default.createFile(atPath: scratch.path("enroll-\(tenant).err"), contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path("enroll-\(tenant).err")))
            try process.run()
            return process
        }
        for process in processes { process.waitUntilExit() }
        for (tenant, process) in zip(tenants, processes) where process.terminationStatus != 0 {
            let stderr = (try? String(contentsOfFile: scratch.path("enroll-\(tenant).err"), encoding: .utf8)) ?? ""
            // What the tenant's executions did, so a failure on CI says why.
            let enrollment = try cmkctl(scratch, ["executions", "show", "enroll-\(tenant)-SUP-\(tenant)"]).stdoutText
            let reencryption = try cmkctl(scratch, ["executions", "show", "reencrypt-\(tenant)-g1"]).stdoutText
            Issue.record("enroll \(tenant) exited \(process.terminationStatus): \(stderr)\n\(enrollment)\n\(reencryption)")
        }
        _ = try cmkctl(scratch, tenantArgs(["worker", "--until-idle"]))
        let listed = try #require(try json(try cmkctl(scratch, ["status", "--json"])) as? [[String: Any]])
        #expect(listed.count == 4)
        #expect(listed.allSatisfy { $0["state"] as? String == "active" })
        let identifiers = listed.compactMap { $0["contextIdentifier"] as? String }
        #expect(Set(identifiers).count == 4 && identifiers.allSatisfy { $0.hasPrefix("same-") })
    }

    /// The enroll process killed with SIGKILL at random moments, then rerun: every tenant ends enrolled
    /// once, with one identifier, one key generation and a complete, gap-free history.
    @Test(arguments: TestBackend.allCases)
    func enrollmentKilledAtRandomPointsConverges(backend: TestBackend) throws {
        let scratch = try Scratch()
        let environment = try Self.storeEnvironment(backend)
        func cmkctl(_ scratch: Scratch, _ arguments: [String]) throws -> CLIRunner.Result {
            try self.cmkctl(scratch, arguments, environment: environment)
        }
        let tenants = ["acme", "globex", "initech"]
        var keys: [String: String] = [:]
        for tenant in tenants { keys[tenant] = try createKey(scratch, alias: "\(tenant)-root") }
        func enroll(_ tenant: String) -> [String] {
            tenantArgs(["enroll", "--ticket", "SUP-\(tenant)", "--tenant", tenant, "--key", keys[tenant]!, "--tag", "shared",
                        "--lease-seconds", "1"])
        }
        // Kill at random moments until 24 processes died mid-run (at most 200 tries); the schedule is
        // printed so a failing run can be replayed.
        var kills = 0
        var schedule: [UInt32] = []
        var round = 0
        while kills < 24 && round < 200 {
            let delay = UInt32.random(in: 10_000..<220_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
            process.arguments = enroll(tenants[round % tenants.count])
            process.currentDirectoryURL = scratch.url
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(delay)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
                schedule.append(delay)
            }
            process.waitUntilExit()
            round += 1
        }
        print("crash test (\(backend)): \(kills) kills in \(round) runs, at (µs) \(schedule)")
        #expect(kills >= 24)

        // One rerun each finishes the work: it waits out a dead process's lease (1 s) itself, and exit 0
        // means active.
        var states: [String: String] = [:]
        for tenant in tenants {
            let result = try cmkctl(scratch, enroll(tenant) + ["--json"])
            let document = try? json(result) as? [String: Any]
            states[tenant] = (document?["status"] as? [String: Any])?["state"] as? String
            #expect(result.status == 0, "\(tenant): exit \(result.status), \(result.stderr)")
        }
        #expect(states == ["acme": "active", "globex": "active", "initech": "active"])

        let listed = try #require(try json(try cmkctl(scratch, ["status", "--json"])) as? [[String: Any]])
        #expect(listed.count == 3)
        let identifiers = listed.compactMap { $0["contextIdentifier"] as? String }
        #expect(Set(identifiers).count == 3)
        #expect(listed.allSatisfy { $0["generation"] as? Int == 1 })

        for tenant in tenants {
            let shown = try cmkctl(scratch, ["executions", "show", "enroll-\(tenant)-SUP-\(tenant)", "--json"])
            let document = try #require(try json(shown) as? [String: Any])
            let events = try #require(document["events"] as? [[String: Any]])
            #expect(events.compactMap { $0["seq"] as? Int } == Array(1...events.count), "history of \(tenant) has gaps")
            #expect(events.first?["kind"] as? String == "ExecutionStarted")
            #expect(events.last?["kind"] as? String == "ExecutionSucceeded")
            // Each transactional step committed exactly once.
            for state in ["Register", "AssignContext", "RecordGeneration", "HandOver"] {
                let done = events.filter { $0["kind"] as? String == "TaskSucceeded" && $0["state"] as? String == state }
                #expect(done.count == 1, "\(tenant) \(state) succeeded \(done.count) times")
            }
            let export = try cmkctl(scratch, ["audit", "export", "--tenant", tenant])
            let actions = export.stdoutText.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["action"] as? String
            }
            for action in ["(new) -> enrolling", "context identifier assigned", "key generation 0 -> 1", "re-encrypting -> active"] {
                #expect(actions.filter { $0 == action }.count == 1, "\(tenant): \(action) recorded \(actions.filter { $0 == action }.count) times")
            }
        }
        #expect(try cmkctl(scratch, ["audit", "verify"]).status == 0)
    }

    /// From an empty directory outside the repository, with no Workflows/ anywhere: the definitions are
    /// built into the binary.
    @Test func enrollWorksFromAnEmptyDirectoryWithTheBuiltInDefinitions() throws {
        let scratch = try Scratch()
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("Workflows").path))
        let key = try createKey(scratch, alias: "acme-root")
        let result = try cmkctl(scratch, ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acmeprod"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("acme  active  generation 1"))
    }

    /// A process killed while it held the enrollment's lease: the rerun says it waits, waits, and finishes.
    @Test func aRerunWaitsForTheDeadProcessLeaseAndFinishes() throws {
        let scratch = try Scratch()
        let key = try createKey(scratch, alias: "acme-root")
        let enroll = ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acmeprod", "--lease-seconds", "3"]
        // Journal it, then take the lease as a worker that dies at once would leave it.
        #expect(try cmkctl(scratch, enroll + ["--detach"]).status == 0)
        let store = scratch.url.appendingPathComponent(".cmkctl/store.sqlite").path
        let expires = Date().timeIntervalSince1970 + 2
        let sql = "UPDATE executions SET lease_owner = 'enroll-dead', lease_expires = \(expires) WHERE name = 'enroll-acme-SUP-1';"
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [store, sql]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)

        let rerun = try cmkctl(scratch, enroll)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("waiting") && rerun.stderr.contains("for the lease of enroll-dead"))
        #expect(rerun.stdoutText.contains("acme  active  generation 1"))
    }

    /// `tenants add` gives a tenant its identifier on the provider's key; `enroll` keeps it.
    @Test func anAddedTenantKeepsItsIdentifierWhenItEnrolls() throws {
        let scratch = try Scratch()
        let added = try cmkctl(scratch, ["tenants", "add", "--tenant", "acme", "--tag", "acmeprod", "--json"])
        #expect(added.status == 0, "\(added.stderr)")
        let document = try #require(try json(added) as? [String: Any])
        #expect(document["created"] as? Bool == true)
        let status = try #require(document["status"] as? [String: Any])
        #expect(status["state"] as? String == "registered")
        #expect(status["generation"] as? Int == 0)
        let identifier = try #require(status["contextIdentifier"] as? String)
        #expect(identifier.hasPrefix("acmeprod-"))

        // The same tag again reports it unchanged; another tag is refused.
        let again = try cmkctl(scratch, ["tenants", "add", "--tenant", "acme", "--tag", "acmeprod", "--json"])
        #expect(again.status == 0)
        #expect((try json(again) as? [String: Any])?["created"] as? Bool == false)
        #expect(try cmkctl(scratch, ["tenants", "add", "--tenant", "acme", "--tag", "other"]).status == 4)
        let listed = try cmkctl(scratch, ["status"])
        #expect(listed.stdoutText.contains("acme  registered  generation 0"))

        let key = try createKey(scratch, alias: "acme-root")
        let wrongTag = try cmkctl(scratch, ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acme2"])
        #expect(wrongTag.status == 4)
        #expect(wrongTag.stderr.contains("already has the tag acmeprod"))
        let enrolled = try cmkctl(scratch, ["enroll", "--ticket", "SUP-2", "--tenant", "acme", "--key", key, "--tag", "acmeprod", "--json"])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        let final = try #require((try json(enrolled) as? [String: Any])?["status"] as? [String: Any])
        #expect(final["state"] as? String == "active")
        #expect(final["contextIdentifier"] as? String == identifier)
        let history = try cmkctl(scratch, ["history", "--tenant", "acme"])
        #expect(history.stdoutText.contains("(new) -> registered"))
        #expect(history.stdoutText.contains("registered -> enrolling"))
    }

    /// Issue 10 finding 9: a local key ARN used from another directory once met a new, empty local
    /// KMS there and the enrollment blamed the customer's key policy.
    @Test func aLocalKeyFromAnotherDirectoryIsTheOperatorsProblem() throws {
        let home = try Scratch()
        let key = try createKey(home, alias: "acme-root")
        let other = try Scratch()
        let enroll = try cmkctl(other, tenantArgs(["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acmeprod"]))
        #expect(enroll.status == 78, "\(enroll.stderr)")
        #expect(enroll.stderr.contains("the operator's KMS setup, not the customer's key"))
        #expect(enroll.stderr.contains("there is no local KMS file at \(other.path(".cmkctl/local-kms.json"))"), "\(enroll.stderr)")
        #expect(!enroll.stdoutText.contains("awaiting-customer") && !enroll.stdoutText.contains("enrollment-failed"))
        #expect(!FileManager.default.fileExists(atPath: other.path(".cmkctl/local-kms.json")))
    }
}
