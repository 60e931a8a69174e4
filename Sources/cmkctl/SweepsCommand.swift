import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl sweeps`: the last probe sweeps (scheduled by `serve`, or run by `sweep probe`) and re-encryptions
/// from the journal, and the last backup sweeps from the audit trail.
struct SweepsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweeps",
        abstract: "List the last probe sweeps, re-encryptions and backup sweeps: when, how many tenants, what they found.",
        discussion: """
            A probe sweep is a set of revocation checks named after its run (revocation-TENANT-sweep-RUN); a \
            re-encryption (started by a hand-over, cmkctl reencrypt or cmkctl sweep reencrypt) is one execution per \
            tenant and generation (reencrypt-TENANT-gN). Both are read from the journal. A backup sweep (serve's \
            schedule or cmkctl sweep backup) that backed up, skipped or failed a tenant is one row (backup-UNIXTIME), \
            read from the audit trail; each backup is in cmkctl backups. Newest first.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "How many runs to show, newest first.")
    var limit = 10

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--limit", 1...1000, "runs").check(limit)
    }

    struct Run: Encodable {
        /// `probe`, `reencrypt` or `backup`.
        let kind: String
        let run: String
        let startedAt: String
        let tenants: Int
        let outcomes: [String: Int]
        let affected: [String]
    }

    func run() async throws {
        let runs = try await options.storeOptions.withStore(create: false) { store in
            let all = try await Self.runs(store.journal, limit: limit) + (try await Self.reencryptions(store.journal, limit: limit))
                + (try await Self.backupRuns(store.repository, limit: limit))
            return Array(all.sorted { $0.startedAt > $1.startedAt }.prefix(limit))
        }
        if output.json {
            try printJSON(runs)
        } else if runs.isEmpty {
            print("no probe sweeps, re-encryptions or backup sweeps yet")
        } else {
            print(textTable(["KIND", "RUN", "STARTED", "TENANTS", "OUTCOMES", "AFFECTED"], runs.map { run in
                [run.kind, run.run, run.startedAt, String(run.tenants),
                 run.outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                 run.affected.isEmpty ? "-" : run.affected.joined(separator: ",")]
            }))
        }
    }

    static func runs(_ journal: some WorkflowJournal, limit: Int) async throws -> [Run] {
        var byRun: [String: [(tenant: String, snapshot: ExecutionSnapshot)]] = [:]
        for snapshot in try await journal.executions(status: nil) where snapshot.workflow == RevocationWorkflow.name {
            guard let range = snapshot.name.range(of: "-sweep-") else { continue }
            let tenant = String(snapshot.name[snapshot.name.index(snapshot.name.startIndex, offsetBy: "revocation-".count)..<range.lowerBound])
            byRun[String(snapshot.name[range.upperBound...]), default: []].append((tenant, snapshot))
        }
        let newest = byRun.map { ($0.key, $0.value, $0.value.map(\.snapshot.startedAt).min() ?? .distantPast) }
            .sorted { $0.2 > $1.2 }.prefix(limit)
        var runs: [Run] = []
        for (run, checks, started) in newest {
            var outcomes: [String: Int] = [:]
            var affected: [String] = []
            for check in checks.sorted(by: { $0.tenant < $1.tenant }) {
                let (outcome, _) = try await SweepProbeCommand.outcome(of: check.snapshot.name, journal: journal)
                outcomes[outcome, default: 0] += 1
                if outcome == "suspended" || outcome == "reinstated" { affected.append("\(check.tenant) \(outcome)") }
            }
            runs.append(Run(kind: "probe", run: run, startedAt: AuditLog.timestamp(started), tenants: checks.count, outcomes: outcomes,
                            affected: affected))
        }
        return runs
    }

    /// The newest backup sweeps that did anything (`serve`'s schedule or `cmkctl sweep backup`), from their
    /// audit entries: the trail is read backwards a page at a time until `limit` runs are found, at most its
    /// last `scanLimit` entries (older runs than that are in `cmkctl audit export`).
    static func backupRuns<Repository: TenantRepository>(_ repository: Repository, limit: Int, scanLimit: Int = 100_000) async throws -> [Run] {
        let pageSize = 1000
        let found: [AuditEntry] = try await repository.read { transaction in
            var found: [AuditEntry] = []
            let head = (try await repository.auditHead(in: transaction)?.seq ?? 0) + 1
            var end = head
            while end > 1, found.count < limit, head - end < scanLimit {
                let from = max(1, end - pageSize)
                let page = try await repository.auditRecords(fromSeq: from, limit: end - from, in: transaction).map(AuditLog.entry)
                found += page.reversed().filter { $0.tenant == nil && $0.action == BackupService<Repository>.sweepAction }
                end = from
            }
            return found
        }
        return found.prefix(limit).map { entry in
            let outcomes = ["backed-up", "skipped", "not-due", "failed"].reduce(into: [String: Int]()) { counts, outcome in
                if let count = entry.detail[outcome].flatMap(Int.init) { counts[outcome] = count }
            }
            let affected = (entry.detail["affected"] ?? "").split(separator: ",").map(String.init)
            return Run(kind: "backup", run: entry.detail["run"] ?? "backup", startedAt: entry.at,
                       tenants: entry.detail["tenants"].flatMap(Int.init) ?? 0, outcomes: outcomes, affected: affected)
        }
    }

    /// The newest re-encryption executions, one row each: how it ended (or where it stands).
    static func reencryptions(_ journal: some WorkflowJournal, limit: Int) async throws -> [Run] {
        let executions = try await journal.executions(status: nil).filter { $0.workflow == ReencryptionWorkflow.name }
            .sorted { $0.startedAt > $1.startedAt }.prefix(limit)
        return executions.map { snapshot in
            let tenant = snapshot.input["tenant"]?.stringValue ?? "?"
            let outcome: String = switch snapshot.status {
            case .succeeded: snapshot.stateName == "Replaced" ? "superseded" : "completed"
            case .running: snapshot.stateName == "Pause" ? "paused" : "running"
            default: snapshot.status.rawValue
            }
            return Run(kind: "reencrypt", run: snapshot.name, startedAt: AuditLog.timestamp(snapshot.startedAt), tenants: 1,
                       outcomes: [outcome: 1], affected: [tenant])
        }
    }
}
