import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates the store's directories and files readable by their owner only, whatever the umask.
///
/// The store holds tenants, their key ARNs, tickets and the audit trail; the directories cmkctl
/// creates are 0700 and its files 0600. SQLite gives a database's `-wal` and `-shm` files the mode of
/// the database file itself, so creating that file 0600 before SQLite opens it covers all three.
public enum OwnerOnlyFiles {
    public static let directoryMode: mode_t = 0o700
    public static let fileMode: mode_t = 0o600

    /// Creates the missing directories of `path` (0700 each); directories that exist are left as they are.
    public static func createDirectories(_ path: String) throws {
        var missing: [String] = []
        var current = URL(fileURLWithPath: path).standardizedFileURL
        while current.path != "/", !FileManager.default.fileExists(atPath: current.path) {
            missing.append(current.path)
            current.deleteLastPathComponent()
        }
        for directory in missing.reversed() {
            if mkdir(directory, directoryMode) == 0 {
                // mkdir's mode passes through the umask; chmod sets it exactly.
                chmod(directory, directoryMode)
            } else if errno != EEXIST {
                throw WorkflowError(.storeFailure, "cannot create the directory \(directory): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Creates an empty file 0600 at `path` unless something exists there already (another process
    /// may have created it a moment ago: that is fine).
    public static func createFile(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        if descriptor >= 0 {
            fchmod(descriptor, fileMode)
            close(descriptor)
        } else if errno != EEXIST {
            throw WorkflowError(.storeFailure, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes `data` to `path` through a 0600 temporary file beside it, renamed into place: a reader
    /// sees the old file or the whole new one, and the new one is owner-only even if the old was not.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
        guard descriptor >= 0 else {
            throw WorkflowError(.storeFailure, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            fchmod(descriptor, fileMode)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            unlink(temporary)
            throw WorkflowError(.storeFailure, "cannot write \(path): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw WorkflowError(.storeFailure, "cannot write \(path): \(reason)")
        }
    }
}
