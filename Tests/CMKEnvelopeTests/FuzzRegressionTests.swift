import CMKEnvelope
import Foundation
import Testing

/// Context files the `context-json` fuzzer (`scripts/fuzz context-json`) found wrong, from
/// `fixtures/fuzz-regressions/context-json/`: each is invalid JSON and must be refused.
@Suite("Fuzz regressions: encryption context JSON")
struct ContextJSONFuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/fuzz-regressions/context-json")
    static let inputs = (try? FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()) ?? []

    @Test func theRegressionInputsArePresent() {
        #expect(!Self.inputs.isEmpty, "no inputs in \(Self.directory.path)")
    }

    /// `\u-000` and `\u+041` once parsed, because the four digits went through `UInt32(_:radix:)`.
    @Test(arguments: inputs)
    func isRefused(_ name: String) throws {
        let bytes = try Data(contentsOf: Self.directory.appendingPathComponent(name))
        let error = #expect(throws: EnvelopeError.self) { try EncryptionContext(jsonObject: bytes) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("bad \\u escape") == true)
    }
}
