import CMKKMS
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// moto's AWS server (`moto_server`) on a free loopback port, as the KMS (and IAM) peer of tests and
/// the benchmark; started as a child process and stopped by its pid.
public struct MotoServer: Sendable {
    public let port: Int
    public let pid: pid_t

    public var url: String { "http://127.0.0.1:\(port)" }

    /// `$CMK_PEER_PYTHON`'s directory, else `<packageRoot>/.venv/bin`, joined with `moto_server`.
    public static func locateExecutable(packageRoot: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let python = environment["CMK_PEER_PYTHON"], !python.isEmpty {
            return ((python as NSString).deletingLastPathComponent as NSString).appendingPathComponent("moto_server")
        }
        return packageRoot + "/.venv/bin/moto_server"
    }

    /// Starts the server and waits until it accepts connections.
    ///
    /// `initialNoAuthActionCount` turns on moto's IAM authentication after that many requests, so
    /// SigV4 signatures are checked against the IAM users created in those first requests.
    public static func start(executable: String, initialNoAuthActionCount: Int? = nil, logPath: String = "/dev/null",
                             readyWithin: Duration = .seconds(120)) async throws -> MotoServer {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw KMSError(.invalidRequest, "moto_server not found at \(executable); run ./scripts/bootstrap")
        }
        // The free port can be taken between our probe and moto's bind (parallel tests); try anew.
        var lastError = KMSError(.unreachable, "moto_server did not start")
        for _ in 0..<3 {
            do {
                return try await startOnce(executable: executable, initialNoAuthActionCount: initialNoAuthActionCount,
                                           logPath: logPath, readyWithin: readyWithin)
            } catch let error as KMSError where error.message.contains("exited during start") {
                lastError = error
            }
        }
        throw lastError
    }

    private static func startOnce(executable: String, initialNoAuthActionCount: Int?, logPath: String,
                                  readyWithin: Duration) async throws -> MotoServer {
        let port = try LoopbackPort.free()
        var environment = ProcessInfo.processInfo.environment
        environment["MOTO_ALLOW_NONEXISTENT_REGION"] = "true"
        if let count = initialNoAuthActionCount {
            environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(count)
        } else {
            environment.removeValue(forKey: "INITIAL_NO_AUTH_ACTION_COUNT")
        }
        let pid = try ChildProcess.spawn(executable, arguments: ["-H", "127.0.0.1", "-p", String(port)], environment: environment, outputPath: logPath)
        let server = MotoServer(port: port, pid: pid)
        let deadline = ContinuousClock.now + readyWithin
        while ContinuousClock.now < deadline {
            if LoopbackPort.accepts(port: port) { return server }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw KMSError(.unreachable, "moto_server exited during start (status \(status)); see \(logPath)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // Once more after the deadline: a test run that keeps the cooperative threads busy can wake this
        // loop only after the deadline, when moto has long been listening.
        if LoopbackPort.accepts(port: port) { return server }
        server.stop()
        throw KMSError(.unreachable, "moto_server did not listen on 127.0.0.1:\(port) within \(readyWithin)")
    }

    /// Stops this server by its pid.
    public func stop() {
        ChildProcess.stop(pid)
    }
}
