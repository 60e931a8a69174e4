import CMKTenant
import Foundation
import Testing

/// Operator configurations the `operator-config` fuzzer (`scripts/fuzz operator-config`) found
/// wrong, from `fixtures/fuzz-regressions/operator-config/`: each is refused with a `configuration`
/// error that names the file and says what is wrong in words, never with the decoder's internals.
@Suite("Fuzz regressions: operator configuration")
struct OperatorConfigurationFuzzRegressionTests {
    static let directory = TenantHarness.packageRoot + "/fixtures/fuzz-regressions/operator-config"
    static let inputs = (try? FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()) ?? []

    @Test func theRegressionInputsArePresent() {
        #expect(!Self.inputs.isEmpty, "no inputs in \(Self.directory)")
    }

    @Test(arguments: inputs)
    func isRefusedInWords(_ name: String) {
        let path = Self.directory + "/" + name
        let error = #expect(throws: TenantError.self) { try OperatorConfiguration.load(path: path) }
        #expect(error?.code == .configuration)
        #expect(error?.message.hasPrefix(path + ": ") == true)
        for internalName in ["Swift.", "DecodingError", "CodingKeys", "Context(", "Optional("] {
            #expect(error?.message.contains(internalName) == false, "\(error?.message ?? "")")
        }
    }

    @Test(arguments: [
        ("number-as-string.json", "recheckInitialSeconds must be a number"),
        ("not-json.json", "is not valid JSON"),
        ("list-element-not-string.json", "vpcEndpointIds[1]: vpcEndpointIds must be a list of strings"),
        ("top-level-array.json", "must be a JSON object of settings"),
        ("number-out-of-range.json", "is not valid JSON"),
        ("null-in-map.json", "kmsEndpoints[\"eu-west-1\"]: kmsEndpoints must be an object mapping regions to URL strings"),
    ])
    func namesTheField(_ name: String, _ expected: String) {
        let path = Self.directory + "/" + name
        let error = #expect(throws: TenantError.self) { try OperatorConfiguration.load(path: path) }
        #expect(error?.message == path + ": " + expected)
    }
}
