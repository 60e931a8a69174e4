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
        #expect(error?.message.hasPrefix(path) == true)
        for internalName in ["Swift.", "DecodingError", "CodingKeys", "Context(", "Optional("] {
            #expect(error?.message.contains(internalName) == false, "\(error?.message ?? "")")
        }
    }

    @Test(arguments: [
        ("number-as-string.json", "recheckInitialSeconds must be a number"),
        ("not-json.json", "not valid JSON"),
        ("list-element-not-string.json", "vpcEndpointIds[1] must be a string"),
        ("top-level-array.json", "not a JSON object"),
        ("number-out-of-range.json", "not valid JSON"),
        ("null-in-map.json", "kmsEndpoints.eu-west-1 must be a string"),
    ])
    func namesTheField(_ name: String, _ expected: String) {
        let path = Self.directory + "/" + name
        let error = #expect(throws: TenantError.self) { try OperatorConfiguration.load(path: path) }
        #expect(error?.message == path + " is not a valid operator configuration: " + expected)
    }
}
