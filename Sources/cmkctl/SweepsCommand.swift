import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl sweeps`: the last probe sweeps (scheduled by `serve`, or run by `sweep probe`), from the journal.
struct SweepsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweeps",
        abstract: "List the last probe sweeps: when, how many tenants, what they found.",
        discussion: "Each sweep is a set of revocation checks named after its run (revocation-TENANT-sweep-RUN); this reads them from the journal.")

    @OptionGroup var options: TenantOptions

    @Option(help: "How many runs to show, newest first.")
    var limit = 10

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--limit", 1...1000, "runs").check(limit)
    }

    struct Run: Encodable {
        let run: String
        let startedAt: String
        let tenants: Int
        let outcomes: [String: Int]
        let affected: [String]
    }

    func run() async throws {
        let runs = try await options.storeOptions.withStore(create: false) { store in try await Self.runs(store.journal, limit: limit) }
        if output.json {
            try printJSON(runs)
        } else if runs.isEmpty {
            print("no probe sweeps yet")
        } else {
            print(textTable(["RUN", "STARTED", "TENANTS", "OUTCOMES", "AFFECTED"], runs.map { run in
                [run.run, run.startedAt, String(run.tenants),
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
            runs.append(Run(run: run, startedAt: AuditLog.timestamp(started), tenants: checks.count, outcomes: outcomes, affected: affected))
        }
        return runs
    }
}
