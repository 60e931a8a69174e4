import Foundation
import Synchronization

/// A Linux network namespace used as a host of its own: its own interfaces, addresses and loopback, on
/// this machine and filesystem. Tests join namespaces with veth pairs to run processes that reach each
/// other over real TCP, as separate hosts would (needs root and iproute2's `ip`).
public final class NetworkNamespace: Sendable {
    /// The name under /run/netns, unique to one `withNamespaces` call.
    public let name: String
    /// The short name the test gave it (`db`, `w1`).
    public let role: String

    private init(name: String, role: String) {
        self.name = name
        self.role = role
    }

    /// Creates one namespace per role (loopback up), runs `body` with them in the same order, and deletes
    /// them all afterwards: also when `body` throws or a creation fails halfway.
    ///
    /// Names are `cmk<pid>x<random>-<role>`, so parallel runs never meet. Processes still inside a deleted
    /// namespace keep it alive unnamed; `body` stops its own before it returns.
    public static func withNamespaces<T>(_ roles: [String], _ body: ([NetworkNamespace]) throws -> T) throws -> T {
        let run = "cmk\(getpid())x\(UInt16.random(in: .min ... .max))"
        var created: [NetworkNamespace] = []
        defer { for namespace in created.reversed() { namespace.delete() } }
        for role in roles {
            let namespace = NetworkNamespace(name: "\(run)-\(role)", role: role)
            try execute(["netns", "add", namespace.name])
            created.append(namespace)
            try execute(["-n", namespace.name, "link", "set", "lo", "up"])
        }
        return try body(created)
    }

    /// Joins this namespace to `peer` with a veth pair: `address` on this end, `peerAddress` on the
    /// peer's, both in one IPv4 subnet of `prefixLength` bits. The interfaces are named after the other
    /// end's role (`to-w1` here, `to-db` there), so a namespace's interface names stay unique.
    public func connect(to peer: NetworkNamespace, address: String, peerAddress: String, prefixLength: Int = 24) throws {
        let interface = "to-\(peer.role)", peerInterface = "to-\(role)"
        try Self.execute(["-n", name, "link", "add", interface, "type", "veth", "peer", "name", peerInterface, "netns", peer.name])
        try Self.execute(["-n", name, "addr", "add", "\(address)/\(prefixLength)", "dev", interface])
        try Self.execute(["-n", peer.name, "addr", "add", "\(peerAddress)/\(prefixLength)", "dev", peerInterface])
        try Self.execute(["-n", name, "link", "set", interface, "up"])
        try Self.execute(["-n", peer.name, "link", "set", peerInterface, "up"])
    }

    /// `arguments` as run inside this namespace (`ip netns exec` execs the program, so a process started
    /// this way has the program's own pid).
    public func command(_ arguments: [String]) -> [String] {
        [Self.ip, "netns", "exec", name] + arguments
    }

    /// Starts `arguments` in this namespace, with stdout and stderr appended to `logPath`.
    public func start(_ arguments: [String], in directory: URL? = nil, logPath: String) throws -> Process {
        if !FileManager.default.fileExists(atPath: logPath) {
            FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        try log.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.ip)
        process.arguments = Array(command(arguments).dropFirst())
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    /// Runs `arguments` in this namespace to completion.
    public func run(_ arguments: [String], in directory: URL? = nil) throws -> CommandOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.ip)
        process.arguments = Array(command(arguments).dropFirst())
        if let directory { process.currentDirectoryURL = directory }
        let stdout = Pipe(), stderr = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Both pipes at once, so a child that fills one is never blocked on it.
        let errorData = Mutex(Data())
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            let data = stderr.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
        }
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CommandOutput(status: process.terminationStatus, stdout: outputData,
                             stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }

    /// Deletes the namespace name; its interfaces go with the namespace, veth peers included.
    private func delete() {
        _ = try? Self.execute(["netns", "delete", name])
    }

    /// iproute2's `ip`, wherever this distribution puts it.
    static let ip: String = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip"

    private static func execute(_ arguments: [String]) throws {
        _ = try PostgresServer.run([ip] + arguments)
    }
}

/// What a command run to completion left: its exit status and output.
public struct CommandOutput: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: String
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}
