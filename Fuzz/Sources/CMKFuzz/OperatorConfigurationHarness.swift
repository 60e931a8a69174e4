import CMKTenant
import Foundation

/// Loads arbitrary bytes as the operator configuration file (`.cmkctl/operator.json`).
///
/// Properties: a refusal is a `configuration` error that names the file and reads as prose (no
/// decoder internals); an accepted configuration satisfies its own validation, gives finite
/// positive re-check delays, and survives a JSON round trip.
enum OperatorConfigurationHarness {
    /// One scratch file per process, rewritten for each input: `load(path:)` is what the CLI calls.
    private static let path: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cmkctl-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("operator.json").path
    }()

    static func run(_ bytes: [UInt8]) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            fatalError("cannot write \(path)")
        }
        let configuration: OperatorConfiguration
        do {
            configuration = try OperatorConfiguration.load(path: path)
        } catch let error as TenantError {
            require(error.code == .configuration, "operator configuration refused with code \(error.code)")
            require(error.message.contains(path), "operator configuration error does not name the file: \(error.message)")
            requireHumanMessage(error.message, "operator configuration")
            return
        } catch {
            require(false, "operator configuration threw a non-tenant error: \(type(of: error))")
            return
        }
        require((try? configuration.validate()) != nil, "a loaded configuration fails its own validation")
        for round in [1, 2, 10, 41, 1000] {
            let delay = configuration.recheckDelay(round: round)
            require(delay.isFinite && delay > 0, "re-check delay for round \(round) is \(delay)")
        }
        do {
            let encoded = try JSONEncoder().encode(configuration)
            let decoded = try JSONDecoder().decode(OperatorConfiguration.self, from: encoded)
            require(decoded == configuration, "operator configuration changes through JSON")
        } catch {
            require(false, "operator configuration does not round-trip through JSON: \(error)")
        }
    }
}
