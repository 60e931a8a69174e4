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

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let target = URL(fileURLWithPath: directory)
        do {
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure(status: .cannotCreate, message: "\(directory): cannot create the directory")
        }
        var written: [String] = []
        for embedded in EmbeddedWorkflows.files {
            let file = target.appendingPathComponent(embedded.name)
            if !overwrite, FileManager.default.fileExists(atPath: file.path) {
                throw CommandFailure(status: .cannotCreate, message: "\(file.path) exists (use --overwrite to replace it)")
            }
            do {
                try Data(embedded.text.utf8).write(to: file, options: .atomic)
            } catch {
                throw CommandFailure(status: .cannotCreate, message: "\(file.path): cannot write the file")
            }
            written.append(file.path)
            if !output.json { print("wrote  \(file.path)") }
        }
        if output.json { try printJSON(["written": written]) }
    }
}
