import CMKTenant
import Foundation

/// The key policy fixtures in `fixtures/policies/` and their expected findings.
enum PolicyFixtures {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/policies")

    /// One entry of `expected.json`.
    struct Case: Decodable, Sendable {
        struct Requirements: Decodable, Sendable {
            var servicePrincipal: String?
            var contextKey: String?
            var contextValue: String?
            var vpcEndpointIDs: [String]?
        }

        struct Finding: Decodable, Sendable, Equatable, CustomStringConvertible {
            let code: String
            let severity: String
            let statement: String?
            let action: String?

            var description: String { "\(severity) \(code) \(statement ?? "-") \(action ?? "-")" }
        }

        let name: String
        let requirements: Requirements?
        let findings: [Finding]
    }

    private struct Expected: Decodable, Sendable {
        let defaults: Case.Requirements
        let fixtures: [Case]
    }

    private static let expected: Expected = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    static var names: [String] { expected.fixtures.map(\.name) }

    static func expectedCase(_ name: String) -> Case? { expected.fixtures.first { $0.name == name } }

    /// The defaults of `expected.json` with the fixture's own values laid over them.
    static func requirements(for fixture: Case) -> PolicyRequirements {
        let defaults = expected.defaults
        let own = fixture.requirements
        return PolicyRequirements(
            servicePrincipal: own?.servicePrincipal ?? defaults.servicePrincipal!,
            contextKey: own?.contextKey ?? defaults.contextKey!,
            contextValue: own?.contextValue ?? defaults.contextValue!,
            vpcEndpointIDs: own?.vpcEndpointIDs ?? defaults.vpcEndpointIDs!
        )
    }

    static var defaultRequirements: PolicyRequirements {
        requirements(for: Case(name: "", requirements: nil, findings: []))
    }

    static func policy(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name + ".json"), encoding: .utf8)
    }

    /// The fixture files on disk, without `expected.json`.
    static var filesOnDisk: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") && $0 != "expected.json" }.map { String($0.dropLast(5)) }.sorted()
    }
}
