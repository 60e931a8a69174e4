import ArgumentParser
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl sweep ...`: the scheduled jobs, for operators who schedule with cron.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a scheduled job now: probe every tenant's keys, run pending re-encryptions, or back up the tenants that are due.",
        subcommands: [SweepProbeCommand.self, SweepReencryptCommand.self, SweepBackupCommand.self])
}

/// `cmkctl sweep probe`: a revocation check of every tenant that uses its own keys.
struct SweepProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Probe the keys of every active, re-encrypting and suspended tenant, and apply the revocation rules.",
        discussion: """
            Each tenant gets a revocation check (Workflows/revocation.asl.json) named after this run, driven here \
            one after another: every key of its current generation is probed with the tenant's context. Only a \
            revocation-class answer (disabled, pending deletion, not found, access denied) suspends a tenant; a \
            suspended tenant whose keys all pass is reinstated; KMS outages, throttling and cmkctl's own \
            misconfiguration are retried with backoff and never touch a tenant. Tenants still on the provider's key \
            are skipped.

            Exit codes: 0 every check settled (whatever it found: see the table or --json), 75 some checks wait for \
            a retry (KMS unreachable or throttled, or cmkctl's own KMS setup failing; a worker or the next sweep \
            continues them), 74 store failure.
            """)

    @OptionGroup var options: TenantOptions

    @Option(name: .customLong("tenant"), help: "Probe only these tenants (repeat); default: every tenant using its own keys.")
    var tenants: [String] = []

    @OptionGroup var output: OutputOptions

    func validate() throws {
        for tenant in tenants { try checkTenantOption(tenant) }
    }

    func run() async throws {
        let results = try await options.storeOptions.withStore(create: false) { store in try await sweep(store) }
        let pending = results.filter { $0.outcome == "retrying" }
        if output.json {
            try printJSON(SweepProbeReport(checks: results))
        } else if results.isEmpty {
            print("no tenant to probe")
        } else {
            print(textTable(["TENANT", "BEFORE", "OUTCOME", "AFTER", "DETAIL"],
                            results.map { [$0.tenant, $0.before, $0.outcome, $0.after, $0.detail] }))
        }
        if !pending.isEmpty {
            throw CommandFailure(status: .stillRunning, message: "\(pending.count) check(s) wait for a retry of their probe (KMS or cmkctl's own setup failing); no tenant was touched by them: cmkctl worker continues them")
        }
    }

    private func sweep<Store: StoreBackend>(_ store: Store) async throws -> [SweepProbeReport.Check] {
        let runtime = try options.runtime(store)
        let service = try runtime.revocationService()
        let repository = runtime.repository
        let all = try await repository.tenants()
        let chosen = tenants.isEmpty ? all.filter { [.active, .reencrypting, .suspended].contains($0.state) }
                                     : try tenants.map { id in
                                         guard let record = all.first(where: { $0.id == id }) else {
                                             throw TenantError(.tenantUnknown, "tenant \(id) is not registered")
                                         }
                                         return record
                                     }
        let run = "sweep-" + Self.runStamp(Date())
        var started: [(record: TenantRecord, execution: String)] = []
        for record in chosen {
            let execution = try await service.check(tenant: record.id, trigger: RevocationTrigger(kind: .sweep, id: run)).execution
            started.append((record, execution))
        }
        var checks: [SweepProbeReport.Check] = []
        try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            let worker = try runtime.worker(kms: kms, owner: "sweep-\(ProcessInfo.processInfo.processIdentifier)")
            for (record, execution) in started {
                _ = try await worker.drive(execution) { _, _ in }
                let after = try await repository.tenant(record.id)?.state.rawValue ?? "?"
                let (outcome, detail) = try await Self.outcome(of: execution, journal: runtime.journal)
                checks.append(.init(tenant: record.id, execution: execution, before: record.state.rawValue, outcome: outcome, after: after,
                                    detail: detail))
            }
        }
        return checks
    }

    /// What a check came to: suspended, reinstated, passed, skipped, retrying or unconfirmed, with a line why.
    static func outcome(of execution: String, journal: some WorkflowJournal) async throws -> (String, String) {
        guard let snapshot = try await journal.execution(named: execution) else { return ("unknown", "the check vanished") }
        let history = try await journal.history(of: execution)
        let entered = history.filter { $0.kind == .stateEntered }.compactMap(\.state)
        switch snapshot.status {
        case .succeeded:
            let probe = snapshot.output?["probe"]
            switch entered.last {
            case "Suspended": return ("suspended", probe?["evidence"]?["verdict"]?.stringValue.map { "key \($0)" } ?? "revocation confirmed")
            case "Reinstated": return ("reinstated", "every key passed")
            default:
                let verdict = probe?["verdict"]?.stringValue ?? "passed"
                return (verdict, probe?["reason"]?.stringValue ?? "every key passed")
            }
        case .running:
            let failure = history.last { $0.kind == .taskFailed }
            let error = failure?.detail["error"]?.stringValue ?? "waiting for a retry"
            // The tenant already moved; only the operator's notice waits for its retry.
            if entered.contains("NotifySuspension") { return ("suspended", "notice pending (\(error))") }
            if entered.contains("NotifyReinstatement") { return ("reinstated", "notice pending (\(error))") }
            return ("retrying", error)
        default:
            return ("unconfirmed", snapshot.error ?? snapshot.status.rawValue)
        }
    }

    static func runStamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        return formatter.string(from: date)
    }
}

struct SweepProbeReport: Encodable {
    struct Check: Encodable {
        let tenant: String
        let execution: String
        let before: String
        let outcome: String
        let after: String
        let detail: String
    }

    let checks: [Check]
}

/// `cmkctl sweep reencrypt`: runs every pending re-encryption here.
struct SweepReencryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reencrypt",
        abstract: "Run every pending re-encryption: tenants re-encrypting, or with an unfinished re-encryption.",
        discussion: """
            For every tenant that is re-encrypting (after an enrollment or rotation) or whose re-encryption to its \
            current generation is unfinished, starts or joins it (Workflows/reencrypt.asl.json) and drives it here, \
            one tenant after another. A suspended tenant's re-encryption stays paused until it is reinstated.

            Exit codes: 0 every one completed, 75 some are not finished (paused because a key is refused, or \
            waiting for a retry: see cmkctl status), 74 store failure.
            """)

    @OptionGroup var options: TenantOptions

    @OptionGroup var output: OutputOptions

    struct Row: Encodable {
        let tenant: String
        let execution: String
        let status: String
        let state: String
        let summary: String
    }

    func run() async throws {
        let rows = try await options.storeOptions.withStore(create: false) { store in try await sweep(store) }
        if output.json {
            try printJSON(rows)
        } else if rows.isEmpty {
            print("no re-encryption pending")
        } else {
            print(textTable(["TENANT", "STATUS", "STATE", "PROGRESS"], rows.map { [$0.tenant, $0.status, $0.state, $0.summary] }))
        }
        let unfinished = rows.filter { $0.status != ReencryptionRecord.Status.completed.rawValue }
        if !unfinished.isEmpty {
            throw CommandFailure(status: .stillRunning, message: "\(unfinished.count) re-encryption(s) not finished; cmkctl status says why")
        }
    }

    private func sweep<Store: StoreBackend>(_ store: Store) async throws -> [Row] {
        let runtime = try options.runtime(store)
        let repository = runtime.repository
        let service = try runtime.reencryptionService()
        var pending: [String] = []
        for record in try await repository.tenants() where record.state != .offboarded {
            if record.state == .reencrypting {
                pending.append(record.id)
            } else if try await ReencryptCommand.open(tenant: record.id, repository: repository) != nil {
                pending.append(record.id)
            }
        }
        var rows: [Row] = []
        try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            let worker = try runtime.worker(kms: kms, owner: "sweep-\(ProcessInfo.processInfo.processIdentifier)")
            for tenant in pending {
                let started = try await service.start(tenant: tenant, cause: Cause(operatorName: "cmkctl sweep reencrypt"))
                _ = try await worker.drive(started.execution) { _, _ in }
                let record = try await repository.reencryption(execution: started.execution, tenant: tenant)
                let state = try await repository.tenant(tenant)?.state.rawValue ?? "?"
                rows.append(Row(tenant: tenant, execution: started.execution, status: record?.status.rawValue ?? "running", state: state,
                                summary: record.map(ReencryptionLines.summary) ?? "started"))
            }
        }
        return rows
    }
}
