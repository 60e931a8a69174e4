import ArgumentParser
import CMKTenant
import Foundation

/// `cmkctl worker`: runs due workflow steps (enrollments, re-checks, resumed signals) from the store.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the store's workflows: until stopped, or with --until-idle until nothing is due.",
        discussion: "Several workers may share one store; each execution is leased to one worker at a time.")

    @OptionGroup var options: TenantOptions

    @Flag(help: "Exit once nothing is due now (for cron, scripts and after a signal).")
    var untilIdle = false

    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await options.storeOptions.withStore(create: true) { store in
            try await work(store)
        }
    }

    private func work<Store: StoreBackend>(_ store: Store) async throws {
        let runtime = try options.runtime(store)
        try await TenantKMS.withClients(configuration: runtime.configuration) { kms in
            let worker = try runtime.worker(kms: kms, owner: "worker-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
            if untilIdle {
                let progressed = try await worker.runUntilIdle()
                if output.json {
                    try printJSON(["ranSteps": progressed])
                } else {
                    print(progressed ? "ran due steps; nothing more is due now" : "nothing was due")
                }
            } else {
                try await worker.run()
            }
        }
    }
}
