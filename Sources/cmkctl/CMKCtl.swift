import ArgumentParser
import CMKEnvelope
import Foundation

/// The command-line tool: parse, call the library, print. Each subcommand lives in its own file.
@main
struct CMKCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cmkctl",
        abstract: "Customer-managed keys for a multi-tenant SaaS: envelope encryption, KMS, durable tenant workflows.",
        discussion: """
        Every command accepts --verbose: the debug log on stderr (CMKCTL_LOG_LEVEL=trace|debug|info|\
        notice|warning|error|critical sets the level without it; default info). The log never carries \
        key bytes, data keys or plaintext.
        """,
        subcommands: [
            // Subcommands, one per line: the tenant lifecycle first, then the tools under it.
            TenantsCommand.self,
            EnrollCommand.self,
            RotateCommand.self,
            ReencryptCommand.self,
            LedgerCommand.self,
            GenerationsCommand.self,
            OffboardCommand.self,
            StatusCommand.self,
            HistoryCommand.self,
            AuditCommand.self,
            PolicyCommand.self,
            WorkerCommand.self,
            SweepCommand.self,
            SweepsCommand.self,
            RevokeCommand.self,
            BackupCommand.self,
            BackupsCommand.self,
            RestoreCommand.self,
            WebhooksCommand.self,
            EncryptCommand.self,
            DecryptCommand.self,
            SourcesCommand.self,
            ServeCommand.self,
            KMSCommand.self,
            ProbeCommand.self,
            WorkflowsCommand.self,
            ExecutionsCommand.self,
            SignalCommand.self,
            BenchCommand.self,
        ]
    )

    /// ArgumentParser's `main()`, with the log bootstrapped first and every error a command lets
    /// through presented as one plain line (`presentAndExit`), never as a Swift error dump.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let verbose = CommandLineLogging.removeVerboseFlag(from: &arguments)
        var command: any ParsableCommand
        do {
            CommandLineLogging.bootstrap(level: try CommandLineLogging.level(verbose: verbose, environment: ProcessInfo.processInfo.environment))
            command = try parseAsRoot(arguments)
        } catch let failure as CommandFailure {
            presentAndExit(failure)
        } catch {
            // ArgumentParser's parse errors are its own types: it prints them with the usage.
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            presentAndExit(error)
        }
    }

    /// The process's only exit on failure: `ErrorPresenter` decides the code and the one line.
    private static func presentAndExit(_ error: any Error) -> Never {
        guard let (code, message) = ErrorPresenter.present(error) else {
            // ExitCode, CleanExit, ValidationError and its internal help and parse errors (`--help`
            // runs a help command that throws one): ArgumentParser prints them, with the usage where due.
            exit(withError: error)
        }
        writeErrorLine(message)
        Foundation.exit(code)
    }
}
