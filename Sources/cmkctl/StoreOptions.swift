import ArgumentParser
import CMKSQLite
import CMKWorkflow

/// The `--store PATH` option shared by every command that reads or writes the workflow journal.
struct StoreOptions: ParsableArguments {
    /// Relative to the working directory, so each data directory carries its own journal.
    static let defaultPath = ".cmkctl/store.sqlite"

    @Option(name: .long, help: "Path of the workflow journal (SQLite). Default: \(StoreOptions.defaultPath) in the working directory.")
    var store: String = StoreOptions.defaultPath

    /// Opens an existing journal; read and admin commands must not create an empty store by accident.
    func openExisting() throws -> SQLiteJournal {
        guard FileManager.default.fileExists(atPath: store) else {
            throw WorkflowError(.executionNotFound, "no workflow store at \(store) (use --store PATH)")
        }
        return try SQLiteJournal(path: store)
    }
}

import Foundation
