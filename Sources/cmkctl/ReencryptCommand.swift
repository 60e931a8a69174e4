import ArgumentParser
import CMKKMS
import CMKTenant
import CMKWorkflow
import Foundation

/// `cmkctl reencrypt`: starts or joins a tenant's re-encryption to its current generation and drives it.
struct ReencryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reencrypt",
        abstract: "Move a tenant's items in every data source to its current key generation (start, join or preview).",
        discussion: """
            Starts the tenant's re-encryption (Workflows/reencrypt.asl.json) to its current generation, or joins the \
            one already running, and drives it here: every configured data source is read page by page in id order; \
            each item behind is rewrapped (new encrypted data keys, body untouched) or re-encrypted in full, and \
            written with a compare-and-swap so an application's write in between is never lost. Passes repeat until \
            a verifying pass finds nothing left to move; then the ledger is written and the tenant becomes active. \
            An enrollment or rotation starts this by itself; run it to follow one, to resume after a fix, or for an \
            active tenant with items left behind.

            --dry-run only counts (a header scan: no data key is unwrapped, nothing is written): per source and \
            generation, how many items would move, and which backups would be disabled.
            --follow shows the progress (items done/total, rate, ETA, KMS calls): a bar on a terminal, a line per \
            second otherwise. --detach only starts it (cmkctl serve or cmkctl worker runs it).

            Exit codes: 0 completed (or the dry run printed), 75 not finished (paused because a key is refused, \
            held by another process, or waiting for a retry: see cmkctl status), 67 unknown tenant, 78 configuration.
            """)

    @OptionGroup var options: TenantOptions

    @Option(help: "The tenant whose items move.")
    var tenant: String

    @Flag(help: "Count what would move and which backups would be disabled; change nothing.")
    var dryRun = false

    @Flag(help: "Show live progress while it runs.")
    var follow = false

    @Flag(help: "Only start it; a worker or cmkctl serve runs it.")
    var detach = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkTenantOption(tenant)
        if dryRun && (follow || detach) { throw ValidationError("--dry-run changes nothing: it cannot be combined with --follow or --detach") }
    }

    func run() async throws {
        try await options.storeOptions.withStore(create: false) { store in
            if dryRun {
                try await preview(store)
            } else {
                try await reencrypt(store)
            }
        }
    }

    /// The tenant's open re-encryption to its current generation, if one is recorded.
    static func open(tenant: String, repository: some TenantRepository) async throws -> ReencryptionRecord? {
        guard let record = try await repository.tenant(tenant) else { return nil }
        return try await repository.read { transaction in
            try await repository.reencryptions(tenant: tenant, in: transaction)
        }.first { $0.target == record.generation && $0.isOpen }
    }

    private func reencrypt<Store: StoreBackend>(_ store: Store) async throws {
        let runtime = try options.runtime(store)
        let repository = runtime.repository
        guard try await repository.tenant(tenant) != nil else {
            throw TenantError(.tenantUnknown, "tenant \(tenant) is not registered")
        }
        let started = try await runtime.reencryptionService().start(tenant: tenant, cause: Cause(operatorName: defaultOperatorName()), again: true)
        if !output.json {
            print(started.created ? "re-encryption started: \(started.execution)" : "re-encryption joined: \(started.execution)")
        }
        if !detach {
            try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
                let worker = try runtime.worker(kms: kms, owner: "reencrypt-\(ProcessInfo.processInfo.processIdentifier)")
                let tenant = tenant
                let reporter = follow && !output.json ? ProgressReporter(terminal: isatty(1) == 1) : nil
                let watcher = Task {
                    guard let reporter else { return }
                    while !Task.isCancelled {
                        if let record = try? await repository.reencryption(execution: started.execution, tenant: tenant) {
                            reporter.show(record)
                        }
                        try? await Task.sleep(for: .milliseconds(reporter.terminal ? 250 : 1000))
                    }
                }
                // Drives it until it is done or can go no further now (paused, waiting for a retry, held elsewhere).
                _ = try await worker.drive(started.execution) { lease, seconds in
                    writeErrorLine("cmkctl: waiting \(String(format: "%.1f", seconds)) s for the lease of \(lease.owner) on \(started.execution)")
                }
                watcher.cancel()
                if let reporter, let record = try await repository.reencryption(execution: started.execution, tenant: tenant) {
                    reporter.show(record)
                    reporter.finish()
                }
            }
        }
        let record = try await repository.reencryption(execution: started.execution, tenant: tenant)
        let state = try await repository.tenant(tenant)?.state.rawValue ?? "?"
        if output.json {
            try printJSON(ReencryptResult(execution: started.execution, created: started.created, state: state, reencryption: record))
        } else if let record {
            print("\(tenant)  \(state)  " + ReencryptionLines.summary(record))
            for failure in record.progress.failures.prefix(10) {
                print("  not moved  \(failure.source) \(failure.id) \(failure.column): \(failure.reason)".escapingControlCharacters)
            }
        }
        guard record?.status == .completed || detach else {
            let why = record?.progress.pausedReason.map { "paused: \($0)" } ?? "waiting for a retry or another process"
            throw CommandFailure(status: .stillRunning, message: "\(started.execution) is not finished (\(why)); cmkctl worker or cmkctl serve continues it")
        }
    }

    /// The dry run: a header scan of every source, and the backups a completion would disable.
    private func preview<Store: StoreBackend>(_ store: Store) async throws {
        let runtime = try options.runtime(store)
        let repository = runtime.repository
        guard let record = try await repository.tenant(tenant) else {
            throw TenantError(.tenantUnknown, "tenant \(tenant) is not registered")
        }
        let generations = try await repository.generations(of: tenant).filter { $0.retiredAt == nil }
        var rows: [ReencryptPreview.Source] = []
        try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            let scanner = LedgerScanner(kms: kms)
            let reader = try await scanner.reader(for: generations)
            for configuration in runtime.configuration.dataSources {
                let source = try await DataSourceOpener.open(configuration)
                let counts: [Int: Int]
                do {
                    counts = try await scanner.count(tenant: tenant, source: source, reader: reader)
                } catch {
                    await source.close()
                    throw error
                }
                await source.close()
                rows.append(ReencryptPreview.Source(
                    name: configuration.name,
                    generations: counts.keys.sorted().map { .init(generation: $0, items: counts[$0]!,
                                                                   moves: $0 != record.generation && $0 != LedgerEntry.unreadable) }))
            }
        }
        let preview = ReencryptPreview(tenant: tenant, target: record.generation, sources: rows,
                                       backupsDisabled: try await BackupPreview.disabledByCompletion(tenant: tenant, target: record.generation,
                                                                                                     runtime: runtime))
        if output.json {
            try printJSON(preview)
            return
        }
        print("\(tenant): re-encryption to generation \(record.generation) (dry run: nothing written)")
        if rows.isEmpty { print("  no data sources in \(options.config)") }
        for source in rows {
            for row in source.generations {
                let name = row.generation == LedgerEntry.unreadable ? "unreadable" : "generation \(row.generation)"
                let verdict = row.moves ? "would move" : (row.generation == LedgerEntry.unreadable ? "cannot move (reported)" : "current")
                print("  \(source.name)  \(name)  \(row.items) item(s)  \(verdict)".escapingControlCharacters)
            }
            if source.generations.isEmpty { print("  \(source.name)  no items".escapingControlCharacters) }
        }
        print("  total: \(preview.itemsToMove) item(s) would move")
        if preview.backupsDisabled.isEmpty {
            print("  backups disabled on completion: none")
        } else {
            print("  backups disabled on completion: " + preview.backupsDisabled.joined(separator: ", "))
        }
    }
}

struct ReencryptResult: Encodable {
    let execution: String
    let created: Bool
    let state: String
    let reencryption: ReencryptionRecord?
}

struct ReencryptPreview: Encodable {
    struct Source: Encodable {
        struct Row: Encodable {
            let generation: Int
            let items: Int
            let moves: Bool
        }

        let name: String
        let generations: [Row]
    }

    let tenant: String
    let target: Int
    let sources: [Source]
    let backupsDisabled: [String]

    var itemsToMove: Int { sources.flatMap(\.generations).filter(\.moves).map(\.items).reduce(0, +) }

    enum CodingKeys: String, CodingKey { case tenant, target, sources, backupsDisabled, itemsToMove }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(target, forKey: .target)
        try container.encode(sources, forKey: .sources)
        try container.encode(backupsDisabled, forKey: .backupsDisabled)
        try container.encode(itemsToMove, forKey: .itemsToMove)
    }
}

/// What the backup catalogue says a re-encryption or a retirement touches.
enum BackupPreview {
    static func disabledByCompletion<Store: StoreBackend>(tenant: String, target: Int, runtime: TenantRuntime<Store>) async throws -> [String] {
        try await runtime.repository.backups(tenant: tenant).filter { $0.status == .available && $0.generation < target }.map(\.id)
    }

    /// The restorable backups written under `generation`.
    static func restorable<Store: StoreBackend>(tenant: String, generation: Int, runtime: TenantRuntime<Store>) async throws -> [String] {
        try await runtime.repository.backups(tenant: tenant).filter { $0.status == .available && $0.generation == generation }.map(\.id)
    }
}

/// Words for a re-encryption record and a ledger, shared by `status`, `reencrypt` and `ledger`.
enum ReencryptionLines {
    static func summary(_ record: ReencryptionRecord) -> String {
        let progress = record.progress
        var line = "to generation \(record.target): \(record.status.rawValue), \(progress.moved)/\(progress.total) moved"
        line += " (\(progress.rewrapped) rewrapped, \(progress.reencrypted) re-encrypted), pass \(max(progress.passes, 1))"
        if let rate = progress.rate { line += ", \(Int(rate.rounded())) items/s" }
        line += ", \(progress.kmsCalls) KMS calls"
        if progress.failureCount > 0 { line += ", \(progress.failureCount) not moved" }
        if let reason = progress.pausedReason { line += "; \(reason)" }
        return line
    }

    static func ledger(_ entries: [LedgerEntry]) -> String {
        entries.map { entry in
            let generation = entry.generation == LedgerEntry.unreadable ? "unreadable" : "g\(entry.generation)"
            return "\(entry.source) \(generation)=\(entry.items)"
        }.joined(separator: ", ")
    }
}

/// Live progress: a bar redrawn in place on a terminal, one line per update otherwise.
final class ProgressReporter: @unchecked Sendable {
    // The lock guards `lastLine`; `show` is called from the watcher task and from the command.
    private let lock = NSLock()
    private var lastLine = ""
    let terminal: Bool

    init(terminal: Bool) {
        self.terminal = terminal
    }

    func show(_ record: ReencryptionRecord) {
        let progress = record.progress
        let total = max(progress.total, progress.moved)
        var line: String
        if terminal {
            let width = 30
            let filled = total == 0 ? width : min(width, width * progress.moved / total)
            line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        } else {
            line = "progress "
        }
        line += "\(progress.moved)/\(total) items"
        if let rate = progress.rate { line += "  \(Int(rate.rounded()))/s" }
        if let eta = progress.etaSeconds, record.status == .running { line += "  ETA \(Int(eta.rounded())) s" }
        line += "  KMS calls \(progress.kmsCalls)  pass \(max(progress.passes, 1))  \(record.status.rawValue)"
        if let reason = progress.pausedReason { line += ": \(reason)" }
        lock.lock()
        defer { lock.unlock() }
        guard line != lastLine else { return }
        lastLine = line
        if terminal {
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line.escapingControlCharacters).utf8))
        } else {
            print(line.escapingControlCharacters)
        }
    }

    func finish() {
        if terminal { print("") }
    }
}
