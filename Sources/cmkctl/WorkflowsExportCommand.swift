import ArgumentParser
import CMKWorkflow
import Foundation

/// `cmkctl workflows export DIR`: writes the built-in definitions out, to read or to edit and pass back
/// with `--workflows DIR`.
struct WorkflowsExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the workflow definitions built into cmkctl to DIR (created if missing; existing files are kept).")

    @Argument(help: "Directory to write the *.asl.json files to.")
    var directory: String

    @Flag(help: "Replace files that already exist in DIR.")
    var overwrite = false

    func run() async throws {
        try await WorkflowCommandRunner.run {
            let target = URL(fileURLWithPath: directory)
            do {
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            } catch {
                throw WorkflowError(.storeFailure, "\(directory): cannot create the directory")
            }
            for embedded in EmbeddedWorkflows.files {
                let file = target.appendingPathComponent(embedded.name)
                if !overwrite, FileManager.default.fileExists(atPath: file.path) {
                    throw WorkflowError(.executionConflict, "\(file.path) exists (use --overwrite to replace it)")
                }
                do {
                    try Data(embedded.text.utf8).write(to: file, options: .atomic)
                } catch {
                    throw WorkflowError(.storeFailure, "\(file.path): cannot write the file")
                }
                print("wrote  \(file.path)")
            }
        }
    }
}
