import Foundation

/// Locations the tests need: the repository, a fresh temporary directory, the built `cmkctl`.
enum TestPaths {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static var exampleDefinition: URL {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/workflows/example.asl.json")
    }

    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cmkworkflow-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The `cmkctl` binary built next to the test bundle (`swift test` builds all products).
    static func cmkctl() throws -> URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var candidates = [executable.deletingLastPathComponent().appendingPathComponent("cmkctl")]
        candidates.append(repositoryRoot.appendingPathComponent(".build/debug/cmkctl"))
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) {
            return found
        }
        throw TestFailure("cmkctl binary not found at \(candidates.map(\.path)); run swift build first")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
