import Foundation

/// A `cmkctl workflow-worker` child process that the test can kill with SIGKILL at any instant.
final class WorkerProcess {
    let process = Process()

    init(store: URL, workflows: URL, owner: String, leaseSeconds: Double, effectsLog: URL?) throws {
        process.executableURL = try TestPaths.cmkctl()
        var arguments = [
            "workflow-worker", "--store", store.path, "--workflows", workflows.path, "--owner", owner,
            "--lease-seconds", String(leaseSeconds),
        ]
        if let effectsLog { arguments += ["--effects-log", effectsLog.path] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
