import ArgumentParser
import CMKWorkflow
import Foundation

/// Maps `WorkflowError` codes to exit codes and one line on stderr, the same way for every workflow command.
enum WorkflowCommandRunner {
    /// Exit codes are part of the CLI's contract: scripts branch on them.
    static func exitCode(for code: WorkflowError.Code) -> Int32 {
        switch code {
        case .invalidDefinition: 3
        case .invalidJSON: 4
        case .executionNotFound: 5
        case .executionConflict: 6
        case .workflowNotLoaded: 7
        case .storeFailure: 8
        case .leaseLost: 9
        }
    }

    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as WorkflowError {
            FileHandle.standardError.write(Data("error: \(error.message.escapingControlCharacters)\n".utf8))
            throw ExitCode(exitCode(for: error.code))
        }
    }
}
