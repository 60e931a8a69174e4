import Foundation
import Testing

/// Runs the real AWS Encryption SDK for Python (Tests/Peers/esdk_peer.py) on a batch of cases.
struct PythonPeer {
    struct Key: Encodable {
        let namespace: String
        let name: String
        let key_hex: String
    }

    struct Case: Encodable {
        let id: String
        let keys: [Key]
        let context: [[String]]
        let suite: String
        let frame_length: Int
        let input: String
        let output: String
        var commitment_policy: String = "require-require"
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The venv interpreter `scripts/test` prepared; its absence fails the test with a clear cause.
    static func python() throws -> String {
        let candidate = ProcessInfo.processInfo.environment["CMK_PEER_PYTHON"] ?? packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw PeerUnavailable(description: "no Python peer at \(candidate): run ./scripts/test (or ./scripts/bootstrap) to create .venv")
        }
        return candidate
    }

    struct PeerUnavailable: Error, CustomStringConvertible { let description: String }

    /// Runs one batch; returns each case id's result ("ok" or "error: ...").
    static func run(op: String, cases: [Case], in directory: URL) throws -> [String: String] {
        let manifest = directory.appendingPathComponent("manifest-\(op).json")
        struct Manifest: Encodable { let op: String; let cases: [Case] }
        try JSONEncoder().encode(Manifest(op: op, cases: cases)).write(to: manifest)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = [packageRoot.appendingPathComponent("Tests/Peers/esdk_peer.py").path, manifest.path]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PeerUnavailable(description: "python peer exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self).suffix(2000))")
        }
        struct Results: Decodable { let results: [String: String] }
        return try JSONDecoder().decode(Results.self, from: data).results
    }
}

/// A fresh temporary directory removed when the test ends.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cmkctl-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}
