import CMKKMS
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starting and stopping the local peer servers (moto, PostgreSQL, test fakes) as child processes.
///
/// The child gets an empty signal mask and default signal actions: a Swift process blocks signals
/// on its threads, and a child inheriting that mask would ignore the SIGTERM that stops it. It gets
/// no descriptor beyond stdin, stdout and stderr: a server that outlives its starter would otherwise
/// hold the test process's pipes and sockets open (Foundation's `Process` on Linux learns that a child
/// exited when a socket it shares with the child closes, so a daemon holding it hangs `waitUntilExit`).
public enum ChildProcess {
    /// Spawns `executable` with stdin from /dev/null and stdout and stderr appended to `outputPath`.
    public static func spawn(_ executable: String, arguments: [String], environment: [String: String], outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        return try spawn(executable, arguments: arguments, environment: environment, actions: &actions)
    }

    /// Runs `command` (found on PATH by /usr/bin/env) to completion, with stdin from /dev/null: its exit
    /// status, stdout and stderr. For commands that start daemons (scripts/postgres), which Foundation's
    /// `Process` would wait for.
    public static func run(_ command: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cmkctl-run-\(UUID().uuidString)").path
        let outPath = base + ".stdout", errPath = base + ".stderr"
        defer { unlink(outPath); unlink(errPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let pid = try spawn("/usr/bin/env", arguments: command, environment: ProcessInfo.processInfo.environment, actions: &actions)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        func text(_ path: String) -> String {
            String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(), as: UTF8.self)
        }
        return (exitStatus, text(outPath), text(errPath))
    }

    private static func spawn(
        _ executable: String, arguments: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t
    ) throws -> pid_t {
        #if canImport(Glibc)
        try closeDescriptorsFromThree(&actions)
        #endif

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw KMSError(.unreachable, "cannot start \(executable): error \(result)") }
        return pid
    }

    #if canImport(Glibc)
    /// Adds glibc's `posix_spawn_file_actions_addclosefrom_np(3)`, which the Swift Glibc module does not
    /// export: the child closes every descriptor above stderr, atomically with the spawn (enumerating
    /// them first would miss those other threads open meanwhile).
    private static func closeDescriptorsFromThree(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw KMSError(.unreachable, "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later is needed)")
        }
        let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
        let result = addCloseFrom(&actions, 3)
        guard result == 0 else { throw KMSError(.unreachable, "posix_spawn_file_actions_addclosefrom_np failed: error \(result)") }
    }
    #endif

    /// Sends SIGTERM to `pid`, SIGKILL if it is still there after two seconds, and reaps it.
    public static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<100 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}
