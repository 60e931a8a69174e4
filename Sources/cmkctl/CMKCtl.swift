import ArgumentParser

/// The command-line tool: parse, call the library, print. Each subcommand lives in its own file.
@main
struct CMKCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cmkctl",
        abstract: "Customer-managed keys for a multi-tenant SaaS: envelope encryption, KMS, durable tenant workflows.",
        subcommands: [
            // Subcommands, one per line: the tenant lifecycle first, then the tools under it.
            TenantsCommand.self,
            EnrollCommand.self,
            StatusCommand.self,
            HistoryCommand.self,
            AuditCommand.self,
            PolicyCommand.self,
            WorkerCommand.self,
            EncryptCommand.self,
            DecryptCommand.self,
            KMSCommand.self,
            ProbeCommand.self,
            WorkflowsCommand.self,
            ExecutionsCommand.self,
            SignalCommand.self,
            BenchCommand.self,
            WorkflowWorkerCommand.self,
        ]
    )
}
