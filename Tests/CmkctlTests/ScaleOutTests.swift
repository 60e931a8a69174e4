import CMKTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 9's scale-out proof: two `cmkctl worker` processes on two hosts share one PostgreSQL server over
/// TCP; one is killed with SIGKILL while it holds an enrollment, and the other finishes every enrollment,
/// each step recorded once.
///
/// The hosts are network namespaces the test creates (it needs root, as the suite runs), each joined to
/// the database host by a veth pair of its own:
///
///     w1 10.77.1.2 ──── 10.77.1.1  db  10.77.2.1 ──── 10.77.2.2 w2
///
/// Only the network is separate: every process shares this machine's filesystem, so all of them use one
/// local KMS file (`.cmkctl/local-kms.json` in the scratch directory), as hosts share one real KMS.
/// Support staff's commands (enroll, status, history, audit) run on the database host over its loopback.
@Suite struct ScaleOutTests {
    static let tenants = (1...20).map { String(format: "t%02d", $0) }
    static let leaseSeconds = 2.0

    @Test func aWorkerKilledHoldingAnEnrollmentLeavesItToTheSurvivor() throws {
        let scratch = try Scratch()
        var keys: [String: String] = [:]
        for tenant in Self.tenants {
            let created = try CLIRunner.run(["kms", "create-key", "--alias", "\(tenant)-root", "--json"], in: scratch.url)
            try #require(created.status == 0, "\(created.stderr)")
            let object = try JSONSerialization.jsonObject(with: created.stdout) as? [String: Any]
            keys[tenant] = try #require(object?["arn"] as? String)
        }

        try NetworkNamespace.withNamespaces(["db", "w1", "w2"]) { hosts in
            let (db, w1, w2) = (hosts[0], hosts[1], hosts[2])
            try db.connect(to: w1, address: "10.77.1.1", peerAddress: "10.77.1.2")
            try db.connect(to: w2, address: "10.77.2.1", peerAddress: "10.77.2.2")
            // Loopback first: scripts/postgres creates the database through the first address.
            let server = try PostgresServer.start(
                packageRoot: CLIRunner.packageRoot.path, host: "127.0.0.1,10.77.1.1,10.77.2.1", namespace: db.name)
            defer { server.stop() }
            try server.trust(clientsFrom: "10.77.0.0/16")
            let stores = [
                w1.role: "postgres://cmkctl@10.77.1.1:\(server.port)/cmkctl",
                w2.role: "postgres://cmkctl@10.77.2.1:\(server.port)/cmkctl",
            ]
            let dbStore = "postgres://cmkctl@127.0.0.1:\(server.port)/cmkctl"

            // Each worker host reaches the server over its own link, from its own address.
            for (host, address) in [(w1, "10.77.1.2"), (w2, "10.77.2.2")] {
                let client = try clientAddress(from: host, store: stores[host.role]!)
                #expect(client == address, "\(host.role) connects as \(client)")
            }

            func cmkctl(_ arguments: [String]) throws -> CommandOutput {
                try db.run([CLIRunner.binary] + arguments + ["--store", dbStore], in: scratch.url)
            }
            func psql(_ statement: String) throws -> [[String]] {
                try server.sql(statement).split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
            }

            for tenant in Self.tenants {
                let enrolled = try cmkctl(["enroll", "--ticket", "SUP-\(tenant)", "--tenant", tenant, "--key", keys[tenant]!,
                                           "--tag", tenant, "--detach"])
                try #require(enrolled.status == 0, "\(tenant): \(enrolled.stderr)")
            }

            // The workers start once everything is journaled, so both have work from their first claim.
            var workers: [String: Process] = [:]
            defer {
                for process in workers.values where process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                }
            }
            for host in [w1, w2] {
                workers[host.role] = try host.start(
                    [CLIRunner.binary, "worker", "--store", stores[host.role]!, "--lease-seconds", "\(Int(Self.leaseSeconds))"],
                    in: scratch.url, logPath: scratch.path("\(host.role).log"))
            }
            func log(_ role: String) -> String {
                String((try? String(contentsOfFile: scratch.path("\(role).log"), encoding: .utf8))?.suffix(2000) ?? "")
            }
            let victim = workers[w1.role]!, survivor = workers[w2.role]!
            let started = Date()

            // Let some enrollments finish first, so the kill falls between the first and the last.
            let underway = try waitUntil(within: 20) {
                try psql("SELECT count(*) FROM executions WHERE status = 'succeeded'").first?.first.flatMap { Int($0) } ?? 0 >= 3
            }
            try #require(underway, "no 3 enrollments done within 20 s; w1: \(log(w1.role)) w2: \(log(w2.role))")

            // Freeze w1, read what it holds, kill it: what the database shows while it is frozen is what it
            // held when it died (a lease still valid at the kill, on an enrollment past its first step).
            var held: (name: String, state: String, nextSeq: Int, leaseExpires: Double)?
            var doneAtKill = 0
            var attempts = 0
            while held == nil && attempts < 50 {
                attempts += 1
                kill(victim.processIdentifier, SIGSTOP)
                usleep(200_000)
                let rows = try psql("""
                    SELECT name, state, next_seq, lease_expires,
                           (SELECT count(*) FROM executions WHERE status = 'succeeded')
                    FROM executions
                    WHERE status = 'running' AND lease_owner LIKE 'worker-\(victim.processIdentifier)-%'
                    """)
                if let row = rows.first, row[1] != "Register", let expires = Double(row[3]),
                   expires > Date().timeIntervalSince1970 + 0.5 {
                    kill(victim.processIdentifier, SIGKILL)
                    held = (row[0], row[1], Int(row[2])!, expires)
                    doneAtKill = Int(row[4])!
                } else {
                    kill(victim.processIdentifier, SIGCONT)
                    usleep(30_000)
                }
            }
            let killed = try #require(held, "w1 never held an enrollment past its first step; w1: \(log(w1.role))")
            victim.waitUntilExit()
            let killedAt = Date().timeIntervalSince1970
            #expect(victim.terminationReason == .uncaughtSignal && victim.terminationStatus == SIGKILL)
            #expect(killedAt < killed.leaseExpires, "the lease on \(killed.name) ran out before the kill")
            #expect(doneAtKill >= 3 && doneAtKill < Self.tenants.count, "\(doneAtKill) enrollments done at the kill")

            // The survivor finishes all of them, the dead worker's after its lease ran out.
            let allActive = try waitUntil(within: 30) {
                let listed = try cmkctl(["status", "--json"])
                let tenants = try JSONSerialization.jsonObject(with: listed.stdout) as? [[String: Any]] ?? []
                return tenants.count == Self.tenants.count && tenants.allSatisfy { $0["state"] as? String == "active" }
            }
            try #require(allActive, "not all tenants active within 30 s of the kill; w2: \(log(w2.role))")
            let finished = Date().timeIntervalSince(started)
            #expect(survivor.isRunning, "the survivor exited: \(log(w2.role))")
            let resumed = try psql("SELECT min(at) FROM events WHERE execution = '\(killed.name)' AND seq >= \(killed.nextSeq)")
            let resumedAt = try #require(Double(resumed.first?.first ?? ""), "nothing was recorded for \(killed.name) after the kill")
            #expect(resumedAt >= killed.leaseExpires, "\(killed.name) was resumed before the dead worker's lease ran out")
            print("""
                scale-out: killed w1 (pid \(victim.processIdentifier)) holding \(killed.name) at \(killed.state) with \
                \(doneAtKill)/\(Self.tenants.count) done; w2 resumed it \(String(format: "%.2f", resumedAt - killedAt)) s \
                after the kill; all active \(String(format: "%.1f", finished)) s after the workers started
                """)

            try checkEachStepRecordedOnce(cmkctl: cmkctl, psql: psql, keys: keys, interrupted: killed.name)
            let verify = try cmkctl(["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(verify.stdoutText.contains("audit chain intact"))

            kill(survivor.processIdentifier, SIGTERM)
            survivor.waitUntilExit()
        }
    }

    /// Every tenant's history is gap-free and complete, each transactional step committed once, and only
    /// the interrupted enrollment may repeat a KMS call (a detached step runs again after a crash).
    func checkEachStepRecordedOnce(cmkctl: (([String]) throws -> CommandOutput), psql: (String) throws -> [[String]],
                                   keys: [String: String], interrupted: String) throws {
        let listed = try #require(try JSONSerialization.jsonObject(with: try cmkctl(["status", "--json"]).stdout) as? [[String: Any]])
        #expect(listed.allSatisfy { $0["generation"] as? Int == 1 })
        #expect(Set(listed.compactMap { $0["contextIdentifier"] as? String }).count == Self.tenants.count)
        // Generation 0 is the provider's key (Register), generation 1 the tenant's (RecordGeneration): one each.
        let generations = try psql("""
            SELECT g.tenant, string_agg(g.number::text, ',' ORDER BY g.number), string_agg(k.key_arn, ',' ORDER BY g.number)
            FROM key_generations g JOIN generation_keys k ON (k.tenant, k.number) = (g.tenant, g.number)
            GROUP BY g.tenant ORDER BY g.tenant
            """)
        #expect(generations.map { $0[0] } == Self.tenants, "\(generations)")
        for row in generations {
            #expect(row[1] == "0,1" && row[2].hasSuffix("," + keys[row[0]]!), "\(row[0]): generations \(row[1]), keys \(row[2])")
        }

        var kmsCalls: [String: [String]] = [:]
        for tenant in Self.tenants {
            let execution = "enroll-\(tenant)-SUP-\(tenant)"
            let shown = try cmkctl(["executions", "show", execution, "--json"])
            let document = try #require(try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any], "\(shown.stderr)")
            let events = try #require(document["events"] as? [[String: Any]])
            #expect(events.compactMap { $0["seq"] as? Int } == Array(1...events.count), "history of \(tenant) has gaps")
            #expect(events.first?["kind"] as? String == "ExecutionStarted")
            #expect(events.last?["kind"] as? String == "ExecutionSucceeded")
            let succeeded = events.filter { $0["kind"] as? String == "TaskSucceeded" }
                .map { "\($0["state"] as? String ?? "?")/\($0["attempt"] as? Int ?? 0)" }
            #expect(Set(succeeded).count == succeeded.count, "\(tenant): a task attempt succeeded twice: \(succeeded)")
            for state in ["Register", "AssignContext", "RecordGeneration", "HandOver"] {
                let count = succeeded.filter { $0.hasPrefix(state + "/") }.count
                #expect(count == 1, "\(tenant) \(state) succeeded \(count) times")
            }

            let history = try cmkctl(["history", "--tenant", tenant, "--json"])
            let entries = try #require(try JSONSerialization.jsonObject(with: history.stdout) as? [[String: Any]], "\(history.stderr)")
            let audited = entries.filter { ($0["source"] as? String)?.hasPrefix("audit") == true }.compactMap { $0["what"] as? String }
            let recorded = audited.filter { $0.hasPrefix("transition: ") || $0.hasPrefix("request: ") }
            #expect(Set(recorded).count == recorded.count, "\(tenant): an audit action recorded twice: \(recorded)")
            for action in ["transition: (new) -> enrolling", "transition: context identifier assigned",
                           "transition: key generation 0 -> 1", "transition: re-encrypting -> active"] {
                #expect(recorded.contains(action), "\(tenant): no \(action)")
            }
            if execution != interrupted { kmsCalls[tenant] = audited.filter { $0.hasPrefix("kms-call: ") } }
        }
        // The enrollments the dead worker did not hold made the same KMS calls, none of them repeated.
        #expect(Set(kmsCalls.values).count == 1, "\(kmsCalls)")
    }

    /// psql's view of the server from `host`: the address the server saw the connection come from.
    func clientAddress(from host: NetworkNamespace, store: String) throws -> String {
        // The server reloads its client rules a moment after `trust`: a first refusal is retried.
        var refusal = ""
        for _ in 0..<50 {
            let answer = try host.run(["psql", store, "-qAtc", "SELECT host(inet_client_addr())"])
            if answer.status == 0 { return answer.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) }
            refusal = answer.stderr
            usleep(100_000)
        }
        throw PostgresServerError("\(host.role) cannot reach the server: \(refusal)")
    }

    /// Polls `condition` every 50 ms for at most `seconds`; whether it became true.
    func waitUntil(within seconds: Double, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else { return false }
            usleep(50_000)
        }
        return true
    }
}
