import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl executions list [--status S]`: one line per execution.
struct ExecutionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List executions.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Only executions with this status: \(ExecutionStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
    var status: String?

    func validate() throws {
        if let status, ExecutionStatus(rawValue: status) == nil {
            throw ValidationError("unknown status \"\(status)\"")
        }
    }

    func run() async throws {
        let wanted = status.flatMap(ExecutionStatus.init(rawValue:))
        let executions = try await storeOptions.withStore(create: false) { store in
            try await store.journal.executions(status: wanted)
        }
        if output.json {
            try printJSON(executions.map(ExecutionSummary.init))
            return
        }
        print(pad("NAME", 32) + pad("STATUS", 11) + pad("WORKFLOW", 20) + pad("STATE", 20) + "UPDATED")
        for execution in executions {
            let state = execution.status == .running ? "\(execution.stateName) (\(execution.phase.rawValue))" : "-"
            print(
                pad(execution.name.escapingControlCharacters, 32) + pad(execution.status.rawValue, 11) + pad(execution.workflow, 20)
                    + pad(state, 20) + execution.updatedAt.formatted(.iso8601))
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// One execution in `executions list --json`, `signal --json` and `executions cancel --json`.
struct ExecutionSummary: Encodable {
    let name: String
    let workflow: String
    let status: String
    /// The current state while running; the last one otherwise.
    let state: String
    let phase: String?
    let updatedAt: Date

    init(_ snapshot: ExecutionSnapshot) {
        name = snapshot.name
        workflow = snapshot.workflow
        status = snapshot.status.rawValue
        state = snapshot.stateName
        phase = snapshot.status == .running ? snapshot.phase.rawValue : nil
        updatedAt = snapshot.updatedAt
    }
}
