import CMKTesting
import Foundation

/// A `cmkctl-testworker` child process that a test can kill with SIGKILL at any instant.
public final class TestWorkerProcess {
    let process = Process()

    /// Starts a worker on `store` (a SQLite path or a `postgres://` URL) with the definitions in `workflows`.
    public init(store: String, workflows: URL, owner: String, leaseSeconds: Double, effectsLog: URL?) throws {
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary(named: "cmkctl-testworker"))
        var arguments = [
            "--store", store, "--workflows", workflows.path, "--owner", owner, "--lease-seconds", String(leaseSeconds),
        ]
        if let effectsLog { arguments += ["--effects-log", effectsLog.path] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }

    /// False once the worker exited (or was killed): a worker runs until killed, even with nothing to do.
    public var isRunning: Bool { process.isRunning }

    public func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
